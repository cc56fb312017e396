"""Reliable and blocking consumption (SPEC §7) on RAM and disk programs, both protocols."""

import random
import select
import socket
import subprocess
import threading
import time

import pytest
import redis
from pymemcache.client.base import Client as MemcacheClient

from conftest import MEMCACHE_QUEUE_PROGRAMS, RESP_QUEUE_PROGRAMS, Server, recv_until, resp_command, wait_until


@pytest.fixture(params=RESP_QUEUE_PROGRAMS)
def resp_server(request, start_server):
    return start_server(request.param)


@pytest.fixture(params=MEMCACHE_QUEUE_PROGRAMS)
def mc_server(request, start_server):
    return start_server(request.param)


def blocked_clients(port):
    with redis.Redis(port=port) as client:
        return client.info("clients")["blocked_clients"]


def test_blocked_clients_are_served_in_the_order_they_blocked(resp_server):
    results = {}
    threads = []

    def consume(number):
        with redis.Redis(port=resp_server.port, socket_timeout=60) as client:
            results[number] = client.blpop("fair", 0)

    for number in range(100):
        thread = threading.Thread(target=consume, args=(number,), daemon=True)
        thread.start()
        threads.append(thread)
        # Each client blocks before the next one starts, so the order they blocked in is known.
        assert wait_until(lambda: blocked_clients(resp_server.port) == number + 1), f"client {number} did not block"
    with redis.Redis(port=resp_server.port) as producer:
        for number in range(100):
            producer.rpush("fair", f"m{number:03d}")
    for thread in threads:
        thread.join(60)
        assert not thread.is_alive()
    assert results == {number: (b"fair", f"m{number:03d}".encode()) for number in range(100)}
    assert blocked_clients(resp_server.port) == 0


def test_one_push_wakes_one_waiter(resp_server):
    got = []

    def consume():
        with redis.Redis(port=resp_server.port, socket_timeout=30) as client:
            got.append(client.blpop("one", 5))

    threads = [threading.Thread(target=consume, daemon=True) for _ in range(3)]
    for thread in threads:
        thread.start()
    assert wait_until(lambda: blocked_clients(resp_server.port) == 3)
    with redis.Redis(port=resp_server.port) as producer:
        producer.rpush("one", "only")
    for thread in threads:
        thread.join(30)
    assert sorted(got, key=str) == sorted([(b"one", b"only"), None, None], key=str)


def test_blpop_timeout_returns_nil_after_it(resp_server):
    with redis.Redis(port=resp_server.port, socket_timeout=30) as client:
        started = time.monotonic()
        assert client.blpop(["empty-a", "empty-b"], 0.5) is None
        assert time.monotonic() - started >= 0.4  # never early; how late is the benchmark's business
        assert client.brpoplpush("empty-a", "dst", 0.2) is None
        assert client.blmove("empty-a", "dst", 0.2, "LEFT", "RIGHT") is None
        with pytest.raises(redis.ResponseError, match="timeout is negative"):
            client.blpop("x", -1)
        with pytest.raises(redis.ResponseError, match="timeout is not a float or out of range"):
            client.execute_command("BLPOP", "x", "soon")


def test_huge_and_tiny_timeouts_wait_as_in_redis(resp_server):
    """Timeouts far beyond any clock (1e10 s, and 9e15 s, whose milliseconds nearly fill 64 bits)
    wait for a push; the server stays up and the pushed messages reach them in order. One under a
    millisecond rounds up to a millisecond, as in Redis 7.0.8 and later, and times out."""
    with redis.Redis(port=resp_server.port, socket_timeout=60) as client:
        for tiny in ["0.0004", "1e-5"]:
            assert client.execute_command("BLPOP", "far", tiny) is None
    timeouts = ["1e10", "9000000000000000"]
    got = {}

    def consume(timeout):
        with redis.Redis(port=resp_server.port, socket_timeout=60) as client:
            got[timeout] = client.execute_command("BLPOP", "far", timeout)

    threads = []
    for number, timeout in enumerate(timeouts):
        thread = threading.Thread(target=consume, args=(timeout,), daemon=True)
        thread.start()
        threads.append(thread)
        assert wait_until(lambda: blocked_clients(resp_server.port) == number + 1), f"BLPOP far {timeout} did not block"
    with redis.Redis(port=resp_server.port) as producer:
        assert producer.ping()
        producer.rpush("far", "m0", "m1")
    for thread in threads:
        thread.join(60)
        assert not thread.is_alive()
    assert got == {timeout: (b"far", f"m{number}".encode()) for number, timeout in enumerate(timeouts)}


def test_blpop_takes_from_the_first_non_empty_queue_and_brpop_from_the_tail(resp_server):
    with redis.Redis(port=resp_server.port) as client:
        client.rpush("second", "a", "b")
        assert client.blpop(["first", "second"], 1) == (b"second", b"a")
        client.rpush("second", "c")
        assert client.brpop(["first", "second"], 1) == (b"second", b"c")


def test_lmove_reliable_queue_round_trip(resp_server):
    with redis.Redis(port=resp_server.port) as client:
        assert client.rpush("jobs", "j1", "j2", "j3") == 3
        # A worker moves a job into its processing list, works, then removes it there.
        job = client.lmove("jobs", "processing", "LEFT", "RIGHT")
        assert job == b"j1"
        assert client.lrange("processing", 0, -1) == [b"j1"]
        assert client.lrem("processing", 1, job) == 1
        # A worker that died leaves its job in the processing list, to be put back.
        assert client.rpoplpush("jobs", "processing") == b"j3"
        assert client.lmove("processing", "jobs", "RIGHT", "LEFT") == b"j3"
        assert client.lrange("jobs", 0, -1) == [b"j3", b"j2"]
        assert client.llen("processing") == 0
        assert client.lindex("jobs", -1) == b"j2"
        assert client.lpop("jobs", 5) == [b"j3", b"j2"]
        assert client.lpop("jobs", 5) is None


def test_blmove_waits_for_a_job(resp_server):
    moved = []

    def worker():
        with redis.Redis(port=resp_server.port, socket_timeout=30) as client:
            moved.append(client.blmove("incoming", "working", 10, "LEFT", "RIGHT"))

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    assert wait_until(lambda: blocked_clients(resp_server.port) == 1)
    with redis.Redis(port=resp_server.port) as client:
        client.rpush("incoming", "job")
        thread.join(30)
        assert moved == [b"job"]
        assert client.lrange("working", 0, -1) == [b"job"]
        assert client.exists("incoming") == 0


def test_a_set_family_and_list_family_share_one_fifo(resp_server):
    with redis.Redis(port=resp_server.port) as client:
        client.sadd("shared", "a")
        client.rpush("shared", "b")
        client.lpush("shared", "z")
        assert client.spop("shared", 3) == [b"z", b"a", b"b"]


def test_pymemcache_open_and_close(mc_server):
    client = MemcacheClient(("127.0.0.1", mc_server.port), default_noreply=False)
    client.set("work", b"job-1")
    client.set("work", b"job-2")
    assert client.get("work/open") == b"job-1"
    assert client.get("work/close") is None
    assert client.get("work/close/open") == b"job-2"
    assert client.get("work/abort") is None
    assert client.get("work/peek") == b"job-2"
    assert client.get("work") == b"job-2"
    assert client.get("work") is None
    started = time.monotonic()
    assert client.get("work/t=300") is None
    assert time.monotonic() - started >= 0.25


def test_a_consumer_killed_between_open_and_close_loses_nothing(mc_server):
    client = MemcacheClient(("127.0.0.1", mc_server.port), default_noreply=False)
    client.set("tasks", b"fragile")
    # A separate process reserves the message, then dies without closing it.
    script = (
        "import socket,sys,os\n"
        f"s=socket.create_connection(('127.0.0.1',{mc_server.port}))\n"
        "s.sendall(b'get tasks/open\\r\\n')\n"
        "data=b''\n"
        "while not data.endswith(b'END\\r\\n'): data+=s.recv(4096)\n"
        "sys.stdout.buffer.write(data); sys.stdout.flush()\n"
        "os.kill(os.getpid(), 9)\n"
    )
    result = subprocess.run(["python3", "-c", script], capture_output=True, timeout=30)
    assert result.stdout == b"VALUE tasks/open 0 7\r\nfragile\r\nEND\r\n"
    assert result.returncode == -9
    assert wait_until(lambda: client.get("tasks/open") == b"fragile")
    assert client.get("tasks/close") is None
    assert client.get("tasks") is None


def test_a_second_open_on_the_same_queue_is_refused(mc_server):
    with mc_server.connect() as sock:
        sock.sendall(b"set q 0 0 1\r\na\r\nset q 0 0 1\r\nb\r\n")
        assert recv_until(sock, count=16) == b"STORED\r\nSTORED\r\n"
        sock.sendall(b"get q/open\r\nget q/open\r\n")
        expected = b"VALUE q/open 0 1\r\na\r\nEND\r\nCLIENT_ERROR a reservation is already open on this queue\r\nEND\r\n"
        assert recv_until(sock, count=len(expected)) == expected


def test_a_blocked_memcached_get_is_woken_by_a_set(mc_server):
    got = []

    def consume():
        client = MemcacheClient(("127.0.0.1", mc_server.port), timeout=30)
        got.append(client.get("later/t=10000"))

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    time.sleep(0.3)
    MemcacheClient(("127.0.0.1", mc_server.port)).set("later", b"now")
    thread.join(30)
    assert got == [b"now"]


@pytest.mark.parametrize("program", MEMCACHE_QUEUE_PROGRAMS)
def test_reserve_timeout_returns_a_stale_reservation(start_server, program):
    server = start_server(program, "--reserve-timeout", "1")
    holder = MemcacheClient(("127.0.0.1", server.port), default_noreply=False)
    other = MemcacheClient(("127.0.0.1", server.port), default_noreply=False)
    holder.set("slow", b"job")
    assert holder.get("slow/open") == b"job"
    assert other.get("slow") is None
    assert wait_until(lambda: other.get("slow/open") == b"job", timeout=10)
    assert other.get("slow/close") is None


def test_disk_reservations_survive_kill9_unless_acknowledged(data_dir):
    server = Server("mc-diskqueue-server", data_dir=data_dir).start()
    client = MemcacheClient(("127.0.0.1", server.port), default_noreply=False)
    for name in ("kept", "done"):
        client.set(name, name.encode())
    holder = MemcacheClient(("127.0.0.1", server.port), default_noreply=False)
    assert holder.get("kept/open") == b"kept"
    assert holder.get("done/open") == b"done"
    assert holder.get("done/close") is None
    server.kill()
    server.start()
    try:
        client = MemcacheClient(("127.0.0.1", server.port), default_noreply=False)
        assert client.get("kept") == b"kept"
        assert client.get("done") is None
    finally:
        assert server.stop() == 0


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100  # utime + stime, in clock ticks of 1/100 s


def test_a_thousand_idle_blocked_clients_cost_no_cpu(resp_server):
    sockets = []
    try:
        for _ in range(1000):
            sock = socket.create_connection(("127.0.0.1", resp_server.port))
            sock.sendall(b"*3\r\n$5\r\nBLPOP\r\n$4\r\nidle\r\n$1\r\n0\r\n")
            sockets.append(sock)
        assert wait_until(lambda: blocked_clients(resp_server.port) == 1000, timeout=60)
        before = cpu_seconds(resp_server.process.pid)
        time.sleep(3)
        spent = cpu_seconds(resp_server.process.pid) - before
        assert spent < 0.3, f"1000 blocked clients used {spent:.2f} CPU seconds in 3 s"
        with redis.Redis(port=resp_server.port) as client:
            client.rpush("idle", "wake")
        assert wait_until(lambda: blocked_clients(resp_server.port) == 999)
        readable, _, _ = select.select(sockets, [], [], 5)
        assert len(readable) == 1
        assert readable[0].recv(100) == b"*2\r\n$4\r\nidle\r\n$4\r\nwake\r\n"
    finally:
        for sock in sockets:
            sock.close()


# Clients that shut their sending side (`printf ... | nc -N`, or a consumer going away)


def pop_request(program, queue, wait_seconds=None):
    """One pop in the program's protocol: BLPOP/LPOP, or memcached get with Kestrel's wait."""
    if program in RESP_QUEUE_PROGRAMS:
        return resp_command("BLPOP", queue, wait_seconds) if wait_seconds is not None else resp_command("LPOP", queue)
    suffix = f"/t={int(wait_seconds * 1000)}" if wait_seconds is not None else ""
    return f"get {queue}{suffix}\r\n".encode()


def popped_message(program, reply):
    """The message in a reply to pop_request, or None."""
    if program in RESP_QUEUE_PROGRAMS:
        parts = reply.split(b"\r\n")
        if reply.startswith(b"*2\r\n"):
            return parts[4]
        return parts[1] if reply.startswith(b"$") and not reply.startswith(b"$-1") else None
    if reply.startswith(b"VALUE "):
        return reply.split(b"\r\n")[1]
    return None


def push_request(program, queue, message):
    if program in RESP_QUEUE_PROGRAMS:
        return resp_command("RPUSH", queue, message)
    return b"set %s 0 0 %d\r\n%s\r\n" % (queue.encode(), len(message), message)


@pytest.mark.parametrize("program", RESP_QUEUE_PROGRAMS + MEMCACHE_QUEUE_PROGRAMS)
def test_a_client_that_shuts_its_sending_side_gets_its_replies(start_server, program):
    server = start_server(program)
    for number in range(50):
        message = f"half-{number}".encode()
        with server.connect() as sock:
            # Requests and the end of input arrive together, before any reply could go out.
            sock.sendall(push_request(program, "half", message) + pop_request(program, "half"))
            sock.shutdown(socket.SHUT_WR)
            reply = recv_until(sock, timeout=30)
        assert popped_message(program, reply.split(b"\r\n", 1)[1]) == message, reply


@pytest.mark.parametrize("program", RESP_QUEUE_PROGRAMS + MEMCACHE_QUEUE_PROGRAMS)
def test_blocked_consumers_that_shut_their_sending_side_lose_nothing(start_server, program):
    """Consumers block, then shut their sending side at random moments while messages arrive:
    every message reached a consumer or is still queued, and none came out twice."""
    server = start_server(program)
    received = []
    lock = threading.Lock()
    producing = threading.Event()
    producing.set()

    def consume():
        while producing.is_set():
            with server.connect(timeout=60) as sock:
                sock.sendall(pop_request(program, "leaving", 5))
                time.sleep(random.uniform(0, 0.003))
                sock.shutdown(socket.SHUT_WR)
                message = popped_message(program, recv_until(sock, timeout=60))
            if message is not None:
                with lock:
                    received.append(message)

    consumers = [threading.Thread(target=consume, daemon=True) for _ in range(8)]
    for consumer in consumers:
        consumer.start()
    messages = [f"m{number:04d}".encode() for number in range(1000)]
    with server.connect(timeout=60) as producer:
        for message in messages:
            producer.sendall(push_request(program, "leaving", message))
            recv_until(producer, terminator=b"\r\n", timeout=60)
            time.sleep(random.uniform(0, 0.001))
    producing.clear()
    for consumer in consumers:
        consumer.join(60)
        assert not consumer.is_alive()
    left = []
    with server.connect(timeout=60) as sock:
        while True:
            # Waiting a little: a message refused by a consumer that just left may still be on
            # its way back to the queue.
            sock.sendall(pop_request(program, "leaving", 2))
            message = popped_message(program, recv_until(sock, terminator=b"\r\n" if program in RESP_QUEUE_PROGRAMS else b"END\r\n", timeout=60))
            if message is None:
                break
            left.append(message)
    assert len(received) + len(left) == len(set(received) | set(left)), "a message came out twice"
    lost = set(messages) - set(received) - set(left)
    assert not lost, f"{len(lost)} messages lost ({len(received)} received, {len(left)} left)"
