"""Queues through the memcached text protocol (SPEC §2 and §4), against every memcached queue program.

pymemcache's `default_noreply=True` makes set/add/delete answer True whatever the server said, so
the clients here are built with `default_noreply=False` wherever a reply is checked; the exact
bytes are checked on raw sockets.
"""

import re

import pytest
from pymemcache.client.base import Client
from pymemcache.exceptions import MemcacheServerError
from pymemcache.serde import pickle_serde

from conftest import DISK_PROGRAMS, MEMCACHE_QUEUE_PROGRAMS, recv_until

VERSION_LINE = re.compile(rb"VERSION [^\r\n]+\r\n")


@pytest.fixture(params=MEMCACHE_QUEUE_PROGRAMS)
def program(request):
    return request.param


@pytest.fixture
def server(start_server, program):
    return start_server(program)


def connect(server, **options):
    options.setdefault("default_noreply", False)
    options.setdefault("timeout", 30)
    options.setdefault("connect_timeout", 10)
    return Client(("127.0.0.1", server.port), **options)


@pytest.fixture
def client(server):
    connection = connect(server)
    yield connection
    connection.close()


def exchange(sock, data, terminator, timeout=30):
    """Sends `data` and reads until the reply ends with `terminator`."""
    sock.sendall(data)
    return recv_until(sock, terminator=terminator, timeout=timeout)


def with_version(sock, data, timeout=30):
    """Sends `data` then `version`; returns what came before the VERSION line (which must come)."""
    reply = exchange(sock, data + b"version\r\n", b"\r\n", timeout)
    while not VERSION_LINE.search(reply):
        chunk = recv_until(sock, terminator=b"\r\n", timeout=timeout)
        assert chunk, f"connection closed; got {reply[:200]!r}"
        reply += chunk
    match = VERSION_LINE.search(reply)
    assert reply.endswith(match.group(0)), reply[-200:]
    return reply[: match.start()]


def set_command(key, value, flags=0, command=b"set", noreply=False):
    key = key if isinstance(key, bytes) else key.encode()
    value = value if isinstance(value, bytes) else value.encode()
    suffix = b" noreply" if noreply else b""
    return b"%s %s %d 0 %d%s\r\n%s\r\n" % (command, key, flags, len(value), suffix, value)


def value_block(key, value, flags=0):
    key = key if isinstance(key, bytes) else key.encode()
    value = value if isinstance(value, bytes) else value.encode()
    return b"VALUE %s %d %d\r\n%s\r\n" % (key, flags, len(value), value)


def stats_queue(sock):
    """`stats queue` as {queue name: (added, removed)}, checking every line's format."""
    reply = exchange(sock, b"stats queue\r\n", b"END\r\n")
    lines = reply.split(b"\r\n")
    assert lines[-2:] == [b"END", b""], reply
    result = {}
    for line in lines[:-2]:
        match = re.fullmatch(rb"STAT (\S+) (\d+)/(\d+)", line)
        assert match, f"bad stats queue line {line!r} in {reply!r}"
        assert match.group(1) not in result, reply
        result[match.group(1)] = (int(match.group(2)), int(match.group(3)))
    assert list(result) == sorted(result), f"not in byte order of the names: {reply!r}"
    return result


# FIFO and uniqueness (SPEC §2)


def test_fifo_order(client):
    for i in range(100):
        assert client.set("jobs", f"job-{i}") is True
    assert [client.get("jobs") for _ in range(100)] == [f"job-{i}".encode() for i in range(100)]
    assert client.get("jobs") is None


def test_fifo_order_across_connections(server):
    producer, consumer = connect(server), connect(server)
    try:
        for i in range(50):
            producer.set("q", f"m{i}")
        assert [consumer.get("q") for _ in range(50)] == [f"m{i}".encode() for i in range(50)]
        assert producer.get("q") is None
    finally:
        producer.close()
        consumer.close()


def test_set_of_a_queued_message_is_stored_but_not_enqueued(server, client):
    assert client.set("q", "a") is True
    assert client.set("q", "a") is True
    assert client.set("q", "b") is True
    with server.connect() as sock:
        assert exchange(sock, set_command("q", "a"), b"\r\n") == b"STORED\r\n"
        assert exchange(sock, set_command("q", "a", command=b"add"), b"\r\n") == b"NOT_STORED\r\n"
        assert exchange(sock, set_command("q", "c", command=b"add"), b"\r\n") == b"STORED\r\n"
        assert stats_queue(sock) == {b"q": (3, 0)}
    assert client.add("q", "b") is False
    assert [client.get("q") for _ in range(4)] == [b"a", b"b", b"c", None]
    # Uniqueness is about what is queued now: a message taken may be pushed again.
    assert client.add("q", "a") is True
    assert client.get("q") == b"a"


def test_allow_duplicates(start_server, program):
    server = start_server(program, "--allow-duplicates")
    client = connect(server)
    try:
        assert client.set("q", "a") is True
        assert client.set("q", "a") is True
        assert client.set("q", "b") is True
        assert client.set("q", "a") is True
        # add still pushes only what is not queued.
        assert client.add("q", "b") is False
        assert client.add("q", "c") is True
        assert [client.get("q") for _ in range(6)] == [b"a", b"a", b"b", b"a", b"c", None]
    finally:
        client.close()


# Retrieval, deletion, flush


def test_multi_get_pops_one_from_each_non_empty_queue_in_key_order(server):
    with server.connect() as sock:
        setup = set_command("a", "a1") + set_command("a", "a2") + set_command("b", "b1", flags=7)
        setup += set_command("c", "c1") + set_command("c", "c2")
        assert exchange(sock, setup, b"STORED\r\n" * 5) == b"STORED\r\n" * 5
        reply = exchange(sock, b"get c missing a b\r\n", b"END\r\n")
        assert reply == value_block("c", "c1") + value_block("a", "a1") + value_block("b", "b1", 7) + b"END\r\n"
        reply = exchange(sock, b"get a b c\r\n", b"END\r\n")
        assert reply == value_block("a", "a2") + value_block("c", "c2") + b"END\r\n"
        assert exchange(sock, b"get a b c\r\n", b"END\r\n") == b"END\r\n"


def test_get_many_with_pymemcache(client):
    client.set("x", "1")
    client.set("y", "2")
    assert client.get_many(["x", "nope", "y"]) == {"x": b"1", "y": b"2"}
    assert client.get_many(["x", "y"]) == {}


def test_gets_gives_a_cas_field(server, client):
    client.set("q", "m1", flags=3)
    client.set("q", "m2")
    with server.connect() as sock:
        reply = exchange(sock, b"gets q\r\n", b"END\r\n")
        assert re.fullmatch(rb"VALUE q 3 2 \d+\r\nm1\r\nEND\r\n", reply), reply
        assert exchange(sock, b"gets q nothing\r\n", b"END\r\n").startswith(b"VALUE q 0 2 ")
        assert exchange(sock, b"gets q\r\n", b"END\r\n") == b"END\r\n"
    client.set("q", "m3")
    value, cas = client.gets("q")
    assert value == b"m3"
    assert cas.isdigit()


def test_delete_drops_the_whole_queue(server, client):
    for message in ("a", "b", "c"):
        client.set("q", message)
    client.set("other", "x")
    with server.connect() as sock:
        assert exchange(sock, b"delete q\r\n", b"\r\n") == b"DELETED\r\n"
        assert exchange(sock, b"get q\r\n", b"END\r\n") == b"END\r\n"
        assert exchange(sock, b"delete q\r\n", b"\r\n") == b"NOT_FOUND\r\n"
        assert with_version(sock, b"delete other noreply\r\ndelete other noreply\r\n") == b""
    assert client.delete("q") is False
    assert client.get("other") is None
    # A deleted queue starts afresh.
    client.set("q", "b")
    assert client.get("q") == b"b"


def test_flush_all(server, client):
    for name in ("q1", "q2", "q3"):
        client.set(name, "x")
        client.set(name, "y")
    with server.connect() as sock:
        assert exchange(sock, b"flush_all\r\n", b"\r\n") == b"OK\r\n"
        assert exchange(sock, b"get q1 q2 q3\r\n", b"END\r\n") == b"END\r\n"
        assert stats_queue(sock) == {}
        client.set("q1", "z")
        assert with_version(sock, b"flush_all noreply\r\n") == b""
        assert exchange(sock, b"get q1\r\n", b"END\r\n") == b"END\r\n"
    assert client.flush_all() is True


def test_stats_queue_lists_queues_in_byte_order(server, client):
    names = ["zz", "b", "a", "ab", "Z", "b1", "~x", "0"]
    for name in names:
        client.set(name, "m")
    with server.connect() as sock:
        assert list(stats_queue(sock)) == sorted(name.encode() for name in names)


def test_stats_queue_counts_since_creation(server, client):
    with server.connect() as sock:
        assert stats_queue(sock) == {}
        for message in ("m1", "m2", "m3"):
            client.set("a", message)
        client.set("a", "m1")  # already queued: not added
        client.get("a")
        client.set("b", "x")
        assert stats_queue(sock) == {b"a": (3, 1), b"b": (1, 0)}
        # Emptied, the queue is gone; refilled, it counts from its recreation.
        client.get("a")
        client.get("a")
        assert stats_queue(sock) == {b"b": (1, 0)}
        client.set("a", "again")
        assert stats_queue(sock) == {b"a": (1, 0), b"b": (1, 0)}
        # Deleted and refilled, likewise.
        client.set("b", "y")
        client.get("b")
        assert stats_queue(sock) == {b"a": (1, 0), b"b": (2, 1)}
        client.delete("b")
        client.set("b", "z")
        assert stats_queue(sock) == {b"a": (1, 0), b"b": (1, 0)}
    # pymemcache parses it too (monitoring scripts do).
    assert client.stats("queue") == {b"a": b"1/0", b"b": b"1/0"}


def test_plain_stats(client):
    stats = client.stats()
    assert stats[b"pid"] > 0
    assert b"curr_connections" in stats


# Messages


def test_flags_round_trip_through_pymemcache_serde(server):
    client = connect(server, serde=pickle_serde)
    try:
        values = [{"job": "resize", "sizes": [1, 2, 3]}, 42, "text é", b"\x00raw\xff", 3.5, ["a", ("b", None)]]
        for value in values:
            assert client.set("serde", value) is True
        assert [client.get("serde") for _ in values] == values
        assert client.get("serde") is None
    finally:
        client.close()


def test_flags_are_kept_per_message(server):
    with server.connect() as sock:
        setup = set_command("f", "a", flags=0) + set_command("f", "b", flags=1) + set_command("f", "c", flags=4294967295)
        assert exchange(sock, setup, b"STORED\r\n" * 3) == b"STORED\r\n" * 3
        sock.sendall(b"get f\r\nget f\r\nget f\r\n")
        assert recv_until(sock, count=len(b"VALUE f 0 1\r\na\r\nEND\r\n" * 2 + b"VALUE f 4294967295 1\r\nc\r\nEND\r\n"), timeout=30) == (
            value_block("f", "a", 0) + b"END\r\n" + value_block("f", "b", 1) + b"END\r\n"
            + value_block("f", "c", 4294967295) + b"END\r\n"
        )


def test_binary_values(server, client):
    payloads = [b"a\r\nb", b"\x00", b"\r\n", b"\x00\r\n\x00", bytes(range(256)), b"END\r\n", b""]
    with server.connect() as sock:
        request = b"".join(set_command("bin", payload) for payload in payloads)
        assert exchange(sock, request, b"STORED\r\n" * len(payloads)) == b"STORED\r\n" * len(payloads)
        for payload in payloads:
            assert exchange(sock, b"get bin\r\n", value_block("bin", payload) + b"END\r\n") == value_block("bin", payload) + b"END\r\n"
    assert client.get("bin") is None


def test_queue_names_are_just_names(client, server):
    names = ["..", "etc\\passwd", "x" * 250, "%00", "CON", "."]
    for name in names:
        assert client.set(name, name) is True
    for name in names:
        assert client.get(name) == name.encode()
    # `/` introduces Kestrel's options on get, so it cannot be part of a queue name (README.md).
    with server.connect() as sock:
        assert exchange(sock, set_command("a/b", b"x"), b"\r\n") == b"CLIENT_ERROR bad command line format\r\n"


def test_one_mebibyte_values_and_the_error_just_over(server, client):
    big = bytes(range(256)) * 4096
    assert len(big) == 1 << 20
    assert client.set("big", big) is True
    assert client.get("big") == big
    client.set("big", "small")
    with server.connect() as sock:
        reply = exchange(sock, set_command("big", b"y" * ((1 << 20) + 1)), b"\r\n")
        assert reply == b"SERVER_ERROR object too large for cache\r\n"
        # The connection stays usable and the refused value was not queued.
        assert exchange(sock, b"get big\r\n", b"END\r\n") == value_block("big", "small") + b"END\r\n"
        assert exchange(sock, b"get big\r\n", b"END\r\n") == b"END\r\n"
        assert exchange(sock, set_command("big", big), b"\r\n") == b"STORED\r\n"
    with pytest.raises(MemcacheServerError, match="object too large for cache"):
        client.set("big", big + b"!")
    assert client.get("big") == big


def test_max_message_size(start_server, program):
    server = start_server(program, "--max-message-size", "1000")
    with server.connect() as sock:
        assert exchange(sock, set_command("q", b"a" * 1000), b"\r\n") == b"STORED\r\n"
        assert exchange(sock, set_command("q", b"b" * 1001), b"\r\n") == b"SERVER_ERROR object too large for cache\r\n"
        # noreply silences the error too, as in memcached; nothing is queued either way.
        assert with_version(sock, set_command("q", b"c" * 1001, noreply=True)) == b""
        assert exchange(sock, b"get q\r\n", b"END\r\n") == value_block("q", b"a" * 1000) + b"END\r\n"
        assert exchange(sock, b"get q\r\n", b"END\r\n") == b"END\r\n"


@pytest.mark.parametrize("ram_program", [p for p in MEMCACHE_QUEUE_PROGRAMS if p not in DISK_PROGRAMS])
def test_memory_limit(start_server, ram_program):
    server = start_server(ram_program, "--memory-limit", "1mb")
    chunk = b"m" * 10_000
    with server.connect() as sock:
        stored = 0
        for i in range(200):  # 2 MB offered to a 1 MB bound
            reply = exchange(sock, set_command("q", b"%04d" % i + chunk), b"\r\n")
            if reply != b"STORED\r\n":
                assert reply == b"SERVER_ERROR out of memory storing object\r\n"
                break
            stored += 1
        assert 0 < stored < 200
        # What was stored is intact, in order; popping makes room again.
        for i in range(stored):
            assert exchange(sock, b"get q\r\n", b"END\r\n") == value_block("q", b"%04d" % i + chunk) + b"END\r\n"
        assert exchange(sock, set_command("q", b"again"), b"\r\n") == b"STORED\r\n"


# Commands a queue does not support, and the rest of the protocol


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"replace q 0 0 1\r\nz\r\n",
        b"append q 0 0 1\r\nz\r\n",
        b"prepend q 0 0 1\r\nz\r\n",
        b"cas q 0 0 1 1\r\nz\r\n",
        b"incr q 1\r\n",
        b"decr q 1\r\n",
        b"touch q 10\r\n",
        b"gat 10 q\r\n",
        b"gats 10 q\r\n",
    ],
    ids=["replace", "append", "prepend", "cas", "incr", "decr", "touch", "gat", "gats"],
)
def test_cache_only_commands_answer_error(server, client, request_bytes):
    client.set("q", "1")
    with server.connect() as sock:
        assert with_version(sock, request_bytes) == b"ERROR\r\n"
        assert exchange(sock, b"get q\r\n", b"END\r\n") == value_block("q", "1") + b"END\r\n"


def test_unknown_command(server):
    with server.connect() as sock:
        assert with_version(sock, b"bogus\r\n") == b"ERROR\r\n"


def test_version(server, client):
    with server.connect() as sock:
        assert VERSION_LINE.fullmatch(exchange(sock, b"version\r\n", b"\r\n"))
    assert client.version()


def test_verbosity(server):
    with server.connect() as sock:
        assert exchange(sock, b"verbosity 1\r\n", b"\r\n") == b"OK\r\n"
        assert with_version(sock, b"verbosity 0 noreply\r\n") == b""


def test_quit(server, client):
    client.set("q", "kept")
    with server.connect() as sock:
        sock.sendall(b"quit\r\nset q 0 0 1\r\nx\r\nget q\r\n")
        assert recv_until(sock, timeout=30) == b""
    assert client.get("q") == b"kept"
    assert client.get("q") is None
    quitter = connect(server)
    quitter.quit()
    assert client.version()


def test_auth_file(start_server, program, tmp_path):
    auth_file = tmp_path / "users"
    auth_file.write_text("alice:s3cret\nbob:hunter2\n")
    server = start_server(program, "--auth-file", str(auth_file))
    with server.connect() as sock:
        assert exchange(sock, b"get q\r\n", b"\r\n") == b"CLIENT_ERROR unauthenticated\r\n"
        assert exchange(sock, b"version\r\n", b"\r\n") == b"CLIENT_ERROR unauthenticated\r\n"
    with server.connect() as sock:
        assert exchange(sock, b"set auth 0 0 11\r\nalice wrong\r\n", b"\r\n") == b"CLIENT_ERROR authentication failure\r\n"
        assert exchange(sock, b"get q\r\n", b"\r\n") == b"CLIENT_ERROR unauthenticated\r\n"
        assert exchange(sock, b"set anything 0 0 12\r\nalice s3cret\r\n", b"\r\n") == b"STORED\r\n"
        assert exchange(sock, set_command("q", "hello"), b"\r\n") == b"STORED\r\n"
        assert exchange(sock, b"get q\r\n", b"END\r\n") == value_block("q", "hello") + b"END\r\n"
    with server.connect() as sock:
        assert exchange(sock, b"set x 0 0 13\r\nbob hunter2 x\r\n", b"\r\n") == b"STORED\r\n"
        assert VERSION_LINE.fullmatch(exchange(sock, b"version\r\n", b"\r\n"))
        stats = exchange(sock, b"stats\r\n", b"END\r\n")
        assert b"STAT auth_cmds 3\r\n" in stats and b"STAT auth_errors 1\r\n" in stats
    with server.connect() as sock:
        assert exchange(sock, b"set x 0 0 5\r\nalice\r\n", b"\r\n") == b"CLIENT_ERROR bad authentication token format\r\n"


def test_ten_thousand_pipelined_sets_then_gets(server):
    with server.connect() as sock:
        count = 10_000
        sock.sendall(b"".join(set_command("p", f"m{i}") for i in range(count)))
        assert recv_until(sock, count=len(b"STORED\r\n") * count, timeout=120) == b"STORED\r\n" * count
        sock.sendall(b"get p\r\n" * count)
        expected = b"".join(value_block("p", f"m{i}") + b"END\r\n" for i in range(count))
        assert recv_until(sock, count=len(expected), timeout=120) == expected
        assert exchange(sock, b"get p\r\n", b"END\r\n") == b"END\r\n"
