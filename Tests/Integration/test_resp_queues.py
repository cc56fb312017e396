"""Queues through the Redis protocol (SPEC §2-3), against every RESP queue program."""

import subprocess

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from conftest import RESP_QUEUE_PROGRAMS, recv_until, resp_command


@pytest.fixture(params=RESP_QUEUE_PROGRAMS)
def program(request):
    return request.param


@pytest.fixture
def server(start_server, program):
    return start_server(program)


@pytest.fixture
def client(server):
    with redis.Redis(port=server.port) as connection:
        yield connection


def cli(server, *args, stdin=None):
    """Runs redis-cli against the server and returns its output."""
    result = subprocess.run(
        ["redis-cli", "-p", str(server.port), *args], input=stdin, capture_output=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.decode()


def test_fifo_order(client):
    assert client.sadd("jobs", *[f"job-{i}" for i in range(100)]) == 100
    assert [client.spop("jobs") for _ in range(100)] == [f"job-{i}".encode() for i in range(100)]
    assert client.spop("jobs") is None


def test_fifo_order_across_connections(server):
    with redis.Redis(port=server.port) as producer, redis.Redis(port=server.port) as consumer:
        for i in range(50):
            producer.sadd("q", f"m{i}")
        assert consumer.spop("q", 50) == [f"m{i}".encode() for i in range(50)]


def test_unique_by_default(client):
    assert client.sadd("q", "a", "b", "a") == 2
    assert client.sadd("q", "a") == 0
    assert client.scard("q") == 2
    assert client.spop("q", 10) == [b"a", b"b"]


def test_allow_duplicates(start_server, program):
    server = start_server(program, "--allow-duplicates")
    with redis.Redis(port=server.port) as client:
        assert client.sadd("q", "a", "a", "b") == 3
        assert client.sadd("q", "a") == 1
        assert client.scard("q") == 4
        assert client.sismember("q", "a")
        assert client.srem("q", "a") == 3
        assert client.spop("q", 10) == [b"b"]


def test_spop_with_count(client):
    client.sadd("q", *"abcde")
    assert client.spop("q", 0) == []
    assert client.spop("q", 2) == [b"a", b"b"]
    assert client.spop("q", 10) == [b"c", b"d", b"e"]
    assert client.spop("q", 3) == []
    with pytest.raises(redis.ResponseError, match="value is out of range, must be positive"):
        client.spop("q", -1)


def test_srem_in_the_middle(client):
    client.sadd("q", *[str(i) for i in range(1000)])
    assert client.srem("q", "500", "501", "999", "nope") == 3
    assert client.scard("q") == 997
    popped = client.spop("q", 2000)
    assert popped == [str(i).encode() for i in range(1000) if i not in (500, 501, 999)]


def test_membership(client):
    client.sadd("q", "a", "b")
    assert client.sismember("q", "a") == 1
    assert client.sismember("q", "z") == 0
    assert client.smismember("q", ["a", "z", "b"]) == [1, 0, 1]
    assert client.sismember("missing", "a") == 0


def test_keyspace_commands(client):
    client.sadd("jobs:1", "x")
    client.sadd("jobs:2", "x")
    client.sadd("mail", "x")
    assert client.exists("jobs:1", "jobs:1", "nope") == 2
    assert client.type("mail") == b"set"
    assert client.type("nope") == b"none"
    assert sorted(client.keys("jobs:*")) == [b"jobs:1", b"jobs:2"]
    assert sorted(client.scan_iter(match="*", count=1)) == [b"jobs:1", b"jobs:2", b"mail"]
    assert client.dbsize() == 3
    assert client.delete("jobs:1", "nope") == 1
    assert client.exists("jobs:1") == 0
    client.flushdb()
    assert client.dbsize() == 0
    assert client.keys("*") == []


def test_queue_disappears_when_empty(client):
    client.sadd("q", "only")
    client.spop("q")
    assert client.exists("q") == 0
    assert client.type("q") == b"none"
    assert client.keys("*") == []


def test_binary_payloads(client):
    payloads = [b"a\r\nb", b"\x00", b"\x00\r\n\x00", bytes(range(256)), b""]
    client.sadd(b"bin\x00queue", *payloads)
    assert client.spop(b"bin\x00queue", 10) == payloads


def test_one_mebibyte_messages_and_the_error_just_over(server, client):
    big = b"x" * (1 << 20)
    assert client.sadd("big", big) == 1
    assert client.spop("big") == big
    # One byte over --max-message-size is a protocol error, as Redis treats proto-max-bulk-len.
    with server.connect() as sock:
        sock.sendall(resp_command("SADD", "big", b"y" * ((1 << 20) + 1)))
        reply = recv_until(sock)
    assert reply == b"-ERR Protocol error: invalid bulk length\r\n"
    assert client.ping()


def test_a_small_message_limit_holds_for_inline_commands_too(start_server, program):
    server = start_server(program, "--max-message-size", "1000")
    with server.connect() as sock:
        sock.sendall(b"SADD small " + b"a" * 1000 + b"\r\nSCARD small\r\n")
        assert recv_until(sock, count=8) == b":1\r\n:1\r\n"
        sock.sendall(b"SADD small " + b"b" * 1001 + b"\r\n")
        assert recv_until(sock) == b"-ERR Protocol error: invalid bulk length\r\n"
    with server.connect() as sock:
        sock.sendall(b"SCARD small\r\n")
        assert recv_until(sock, count=4) == b":1\r\n"


def test_ten_thousand_pipelined_commands(server):
    with server.connect() as sock:
        sock.sendall(b"".join(resp_command("SADD", "p", f"m{i}") for i in range(10_000)))
        assert recv_until(sock, count=4 * 10_000) == b":1\r\n" * 10_000
        sock.sendall(b"".join(resp_command("SPOP", "p") for _ in range(10_000)))
        expected = b"".join(b"$%d\r\nm%d\r\n" % (len(f"m{i}"), i) for i in range(10_000))
        assert recv_until(sock, count=len(expected)) == expected


def test_errors_for_arity_and_unknown_commands(client, server):
    with pytest.raises(redis.ResponseError, match="wrong number of arguments for 'sadd' command"):
        client.execute_command("SADD", "q")
    with pytest.raises(redis.ResponseError, match="wrong number of arguments for 'scard' command"):
        client.execute_command("SCARD")
    with pytest.raises(redis.ResponseError, match="unknown command 'LPUSHX', with args beginning with: 'a' 'b' "):
        client.execute_command("LPUSHX", "a", "b")
    # redis-cli prints an error and a blank line, as it does for redis-server.
    assert cli(server, "NOSUCH", "x") == "ERR unknown command 'NOSUCH', with args beginning with: 'x' \n\n"


def test_inline_commands(server):
    with server.connect() as sock:
        sock.sendall(b'PING\r\nSADD q "a b" c\r\nSPOP q 2\r\n')
        expected = b"+PONG\r\n:2\r\n*2\r\n$3\r\na b\r\n$1\r\nc\r\n"
        assert recv_until(sock, count=len(expected)) == expected


def test_redis_cli(server):
    assert cli(server, "SADD", "q", "hello", "world") == "2\n"
    assert cli(server, "SCARD", "q") == "2\n"
    assert cli(server, "SPOP", "q") == "hello\n"
    assert cli(server, "SPOP", "q", "5") == "world\n"
    assert cli(server, "PING") == "PONG\n"
    # redis-cli --pipe pushes a mass of commands and checks every reply.
    mass = b"".join(resp_command("SADD", "mass", f"m{i}") for i in range(5000))
    assert "errors: 0, replies: 5000" in cli(server, "--pipe", stdin=mass)
    assert cli(server, "SCARD", "mass") == "5000\n"


def test_resp3(server):
    with redis.Redis(port=server.port, protocol=3) as client:
        client.sadd("q", "a", "b", "c")
        assert client.spop("q") == b"a"
        assert client.spop("q", 5) == [b"b", b"c"]
        assert client.spop("q") is None
        assert client.client_getname() is None
        client.client_setname("worker-1")
        assert client.client_getname() == b"worker-1"


def test_requirepass(start_server, program):
    server = start_server(program, "--requirepass", "s3cret")
    # No retries: redis-py retries an authentication error for seconds before raising it.
    no_retries = Retry(NoBackoff(), 0)
    with redis.Redis(port=server.port, retry=no_retries) as anonymous:
        with pytest.raises(redis.AuthenticationError):
            anonymous.sadd("q", "a")
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(port=server.port, password="wrong", retry=no_retries).ping()
    with redis.Redis(port=server.port, password="s3cret") as client:
        assert client.sadd("q", "a") == 1
    with redis.Redis(port=server.port, password="s3cret", protocol=3) as client:
        assert client.spop("q") == b"a"


def test_redis_benchmark_smoke(server):
    result = subprocess.run(
        ["redis-benchmark", "-p", str(server.port), "-t", "sadd,spop", "-n", "100000", "-P", "16", "-q"],
        capture_output=True,
        timeout=300,
    )
    output = result.stdout.decode() + result.stderr.decode()
    assert result.returncode == 0, output
    assert "requests per second" in output
    assert "WARNING" not in output and "ERR" not in output, output


def test_info_counts_commands_and_bytes(server):
    with redis.Redis(port=server.port) as client:
        before = client.info("stats")
        client.sadd("counted", "m" * 1000)
        after = client.info("stats")
    assert after["total_commands_processed"] >= before["total_commands_processed"] + 2
    assert after["total_net_input_bytes"] - before["total_net_input_bytes"] >= 1000
    assert after["total_net_output_bytes"] > before["total_net_output_bytes"]


def test_info_says_it_is_not_a_cluster(server):
    # Cluster-aware clients (redis-py's RedisCluster, redis-cli --cluster) look for this field.
    with redis.Redis(port=server.port) as client:
        assert client.info("cluster") == {"cluster_enabled": 0}
        assert client.info()["cluster_enabled"] == 0
