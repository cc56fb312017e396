"""Limits and bad input (SPEC §6), against every program: RESP and memcached, queues and cache.

Each test ends with the start_server fixture's check that SIGTERM stops the program with exit
code 0, so "the server carries on" is checked to the end. Nothing here asserts on timing: waits
are generous upper bounds, and memory is read from /proc/<pid>/status.
"""

import os
import random
import re
import signal
import socket
import threading
import time

import pytest

from conftest import MEMCACHE_QUEUE_PROGRAMS, RESP_QUEUE_PROGRAMS, recv_until, resp_command, wait_until

RESP_PROGRAMS = list(RESP_QUEUE_PROGRAMS)
MEMCACHE_PROGRAMS = list(MEMCACHE_QUEUE_PROGRAMS) + ["mc-db-server"]
ALL_PROGRAMS = RESP_PROGRAMS + MEMCACHE_PROGRAMS

MiB = 1 << 20


def is_resp(program):
    return program in RESP_PROGRAMS


def rss_bytes(server):
    with open(f"/proc/{server.process.pid}/status") as status:
        match = re.search(r"^VmRSS:\s+(\d+) kB", status.read(), re.MULTILINE)
    return int(match.group(1)) * 1024


def ping(server, timeout=30):
    """Whether a new connection gets an answer to PING (RESP) or version (memcached)."""
    with server.connect(timeout=timeout) as sock:
        if is_resp(server.program):
            sock.sendall(b"PING\r\n")
            return recv_until(sock, terminator=b"\r\n", timeout=timeout) == b"+PONG\r\n"
        sock.sendall(b"version\r\n")
        return re.fullmatch(rb"VERSION \S+\r\n", recv_until(sock, terminator=b"\r\n", timeout=timeout)) is not None


def ping_on(sock, program, timeout=30):
    """PING / version on an open connection; returns the reply."""
    sock.sendall(b"PING\r\n" if is_resp(program) else b"version\r\n")
    return recv_until(sock, terminator=b"\r\n", timeout=timeout)


def ping_reply_ok(program, reply):
    return reply == b"+PONG\r\n" if is_resp(program) else re.fullmatch(rb"VERSION \S+\r\n", reply) is not None


def store(server, key, value):
    with server.connect() as sock:
        if is_resp(server.program):
            sock.sendall(resp_command("SADD", key, value))
            assert recv_until(sock, terminator=b"\r\n") == b":1\r\n"
        else:
            sock.sendall(b"set %s 0 0 %d\r\n%s\r\n" % (key, len(value), value))
            assert recv_until(sock, terminator=b"\r\n") == b"STORED\r\n"


def fetch(server, key):
    """The value stored under `key` (popped, on a queue), or None."""
    with server.connect() as sock:
        if is_resp(server.program):
            sock.sendall(resp_command("SPOP", key))
            reply = recv_until(sock, terminator=b"\r\n")
            if reply == b"$-1\r\n":
                return None
            header, _ = reply.split(b"\r\n", 1)
            length = int(header[1:])
            while len(reply) < len(header) + 2 + length + 2:
                reply += recv_until(sock, count=len(header) + 2 + length + 2 - len(reply))
            assert reply.endswith(b"\r\n"), reply
            return reply[len(header) + 2 : -2]
        sock.sendall(b"get %s\r\n" % key)
        reply = recv_until(sock, terminator=b"END\r\n")
        if reply == b"END\r\n":
            return None
        header, rest = reply.split(b"\r\n", 1)
        length = int(header.split()[3])
        return rest[:length]


def expect_closed(sock, timeout=30):
    """Reads until the server closes the connection; returns what it sent before."""
    sock.settimeout(timeout)
    data = b""
    while True:
        try:
            chunk = sock.recv(1 << 16)
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk


@pytest.fixture(params=ALL_PROGRAMS)
def program(request):
    return request.param


@pytest.fixture(params=RESP_PROGRAMS)
def resp_program(request):
    return request.param


@pytest.fixture(params=MEMCACHE_PROGRAMS)
def memcache_program(request):
    return request.param


# --max-clients


def test_max_clients(start_server, program):
    server = start_server(program, "--max-clients", "3")
    clients = [server.connect() for _ in range(3)]
    try:
        for sock in clients:
            assert ping_reply_ok(program, ping_on(sock, program))
        with server.connect() as extra:
            reply = expect_closed(extra)
        expected = b"-ERR max number of clients reached\r\n" if is_resp(program) else b"SERVER_ERROR Too many open connections\r\n"
        assert reply == expected
        # The admitted clients are unaffected.
        for sock in clients:
            assert ping_reply_ok(program, ping_on(sock, program))
        # One leaves: a new client is admitted (once the server has seen the close).
        clients.pop().close()

        def admitted():
            sock = server.connect()
            if ping_reply_ok(program, ping_on(sock, program)):
                clients.append(sock)
                return True
            sock.close()
            return False

        assert wait_until(admitted, timeout=30, interval=0.1)
        assert ping_reply_ok(program, ping_on(clients[-1], program))
        with server.connect() as extra:
            assert expect_closed(extra) == expected
    finally:
        for sock in clients:
            sock.close()


# --idle-timeout


def test_idle_timeout(start_server, program):
    server = start_server(program, "--idle-timeout", "1")
    idle = server.connect()
    active = server.connect()
    try:
        assert ping_reply_ok(program, ping_on(idle, program))
        closed = threading.Event()

        def watch():
            expect_closed(idle, timeout=60)
            closed.set()

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        # The active client keeps talking, a few times a second, for several idle periods.
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            assert ping_reply_ok(program, ping_on(active, program)), "an active client was closed"
            time.sleep(0.2)
        assert closed.wait(30), "the idle client was not closed"
        assert ping_reply_ok(program, ping_on(active, program))
    finally:
        idle.close()
        active.close()
    assert ping(server)


@pytest.mark.parametrize("program", RESP_QUEUE_PROGRAMS + MEMCACHE_QUEUE_PROGRAMS)
def test_idle_timeout_counts_from_the_reply_to_a_wait(start_server, program):
    """A blocked client is not idle, and the reply that ends its wait (a timeout, or a message)
    restarts its idle clock, as a write does in Redis. With --idle-timeout 1, a client that waited
    1.5 s and asks again 0.6 s after the reply has been idle 0.6 s, not 2.1 s: it is answered."""
    server = start_server(program, "--idle-timeout", "1")
    resp = is_resp(program)
    if resp:
        wait, nothing = resp_command("BLPOP", "waits", "1.5"), b"*-1\r\n"
        served_wait, job = resp_command("BLPOP", "served", "10"), b"job\r\n"
    else:
        wait, nothing = b"get waits/t=1500\r\n", b"END\r\n"
        served_wait, job = b"get served/t=10000\r\n", b"job\r\nEND\r\n"
    timed_out, served = server.connect(), server.connect()
    try:
        timed_out.sendall(wait)
        served.sendall(served_wait)
        time.sleep(1.5)
        store(server, b"served", b"job")
        assert recv_until(timed_out, terminator=nothing, timeout=30) == nothing
        assert recv_until(served, terminator=job, timeout=30).endswith(job)
        time.sleep(0.6)
        for sock in (timed_out, served):
            assert ping_reply_ok(program, ping_on(sock, program)), "closed as idle right after its reply"
    finally:
        timed_out.close()
        served.close()


# Malformed input closes that connection only


def test_malformed_input_closes_only_that_connection(start_server, program):
    server = start_server(program)
    store(server, b"kept", b"value")
    bystander = server.connect()
    try:
        assert ping_reply_ok(program, ping_on(bystander, program))
        with server.connect() as sock:
            if is_resp(program):
                sock.sendall(b"*1\r\n$abc\r\n")
                assert expect_closed(sock) == b"-ERR Protocol error: invalid bulk length\r\n"
            else:
                sock.sendall(b"x" * 3000)
                reply = expect_closed(sock)
                assert reply == b"" or re.fullmatch(rb"CLIENT_ERROR [^\r\n]*\r\n", reply), reply
        if is_resp(program):
            for garbage, error in [
                (b"*x\r\n", b"-ERR Protocol error: invalid multibulk length\r\n"),
                (b"*1\r\nPING\r\n", b"-ERR Protocol error: expected '$', got 'P'\r\n"),
                (b'ECHO "open\r\n', b"-ERR Protocol error: unbalanced quotes in request\r\n"),
            ]:
                with server.connect() as sock:
                    sock.sendall(resp_command("PING") + garbage + resp_command("PING"))
                    assert expect_closed(sock) == b"+PONG\r\n" + error
        assert ping_reply_ok(program, ping_on(bystander, program))
    finally:
        bystander.close()
    assert fetch(server, b"kept") == b"value"


# Binary garbage


def test_binary_garbage_does_not_crash_the_server(start_server, program):
    server = start_server(program)
    store(server, b"kept", b"value")
    seed = int.from_bytes(os.urandom(8), "little")
    failures = []

    def spray(index):
        rng = random.Random(seed + index)
        sock = None
        try:
            for _ in range(300):
                if sock is None:
                    sock = server.connect()
                    sock.setblocking(False)
                chunk = rng.randbytes(rng.randint(1, 4096))
                try:
                    sock.sendall(chunk)
                    while True:
                        if not sock.recv(1 << 16):
                            raise ConnectionResetError
                except BlockingIOError:
                    pass
                except OSError:
                    sock.close()
                    sock = None
        except Exception as error:  # recorded, so the test reports it with the seed
            failures.append(repr(error))
        finally:
            if sock is not None:
                sock.close()

    threads = [threading.Thread(target=spray, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert not failures, f"seed {seed}: {failures}"
    assert server.is_running, f"seed {seed}: the server died"
    assert ping(server), f"seed {seed}"
    assert fetch(server, b"kept") == b"value", f"seed {seed}"


# Slow drip


def test_slow_drip(start_server, program):
    server = start_server(program)
    if is_resp(program):
        exchanges = [
            (resp_command("SADD", "drip", "hello"), b":1\r\n"),
            (b"SCARD drip\r\n", b":1\r\n"),
            (resp_command("SPOP", "drip"), b"$5\r\nhello\r\n"),
        ]
    else:
        exchanges = [
            (b"set drip 5 0 5\r\nhello\r\n", b"STORED\r\n"),
            (b"get drip\r\n", b"VALUE drip 5 5\r\nhello\r\nEND\r\n"),
        ]
    with server.connect() as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for request, expected in exchanges:
            for byte in request:
                sock.sendall(bytes([byte]))
                time.sleep(0.005)
            assert recv_until(sock, count=len(expected), timeout=30) == expected


# memcached lines and keys


def test_memcached_line_limit(start_server, memcache_program):
    server = start_server(memcache_program)
    with server.connect() as sock:
        # Under 2048 bytes a line may arrive in pieces; it is then an unknown command.
        sock.sendall(b"x" * 1000)
        sock.sendall(b"x" * 1000)
        sock.sendall(b"\r\nversion\r\n")
        reply = recv_until(sock, terminator=b"\r\n", timeout=30)
        if reply == b"ERROR\r\n":
            reply += recv_until(sock, terminator=b"\r\n", timeout=30)
        assert re.fullmatch(rb"ERROR\r\nVERSION \S+\r\n", reply), reply
    with server.connect() as sock:
        for _ in range(5):
            sock.sendall(b"y" * 500)
        reply = expect_closed(sock)
        assert reply == b"" or re.fullmatch(rb"CLIENT_ERROR [^\r\n]*\r\n", reply), reply
    assert ping(server)


def test_memcached_key_length(start_server, memcache_program):
    server = start_server(memcache_program)
    with server.connect() as sock:
        longest = b"k" * 250
        sock.sendall(b"set %s 0 0 1\r\nx\r\n" % longest)
        assert recv_until(sock, terminator=b"\r\n") == b"STORED\r\n"
        sock.sendall(b"get %s\r\n" % longest)
        assert recv_until(sock, terminator=b"END\r\n") == b"VALUE %s 0 1\r\nx\r\nEND\r\n" % longest
        too_long = b"k" * 251
        sock.sendall(b"get %s\r\n" % too_long)
        assert recv_until(sock, terminator=b"\r\n") == b"CLIENT_ERROR bad command line format\r\n"
        # As in memcached, the data line is then read as a command; the connection stays usable.
        sock.sendall(b"set %s 0 0 1\r\nx\r\nversion\r\n" % too_long)
        reply = b""
        while b"VERSION" not in reply:
            chunk = recv_until(sock, terminator=b"\r\n")
            assert chunk, reply
            reply += chunk
        assert re.fullmatch(rb"CLIENT_ERROR bad command line format\r\nERROR\r\nVERSION \S+\r\n", reply), reply


def test_resp_long_key(start_server, resp_program):
    server = start_server(resp_program)
    name = b"n" * 10_000
    store(server, name, b"value")
    assert fetch(server, name) == b"value"


# Huge announced lengths are not buffered


@pytest.mark.parametrize("request_bytes", [b"*1\r\n$2000000000\r\n", b"*2\r\n$4\r\nSADD\r\n$2000000000\r\n"], ids=["first", "second"])
def test_resp_huge_announced_bulk(start_server, resp_program, request_bytes):
    server = start_server(resp_program)
    with server.connect() as sock:
        sock.sendall(request_bytes)
        assert expect_closed(sock) == b"-ERR Protocol error: invalid bulk length\r\n"
    assert ping(server)


def test_memcached_huge_announced_length_is_swallowed_not_buffered(start_server, memcache_program):
    server = start_server(memcache_program)
    store(server, b"kept", b"value")
    before = rss_bytes(server)
    peak = before
    with server.connect() as sock:
        sock.sendall(b"set k 0 0 2000000000\r\n")
        chunk = b"z" * MiB
        for _ in range(64):  # 64 MiB of the announced 2 GB
            sock.sendall(chunk)
            peak = max(peak, rss_bytes(server))
        # The block is still being swallowed: the server answers nothing yet, and other clients are served.
        assert ping(server)
        peak = max(peak, rss_bytes(server))
    print(f"\n{memcache_program}: swallow RSS {before} -> {peak}")
    assert peak - before < 48 * MiB, f"RSS grew from {before} to {peak} bytes while a 2 GB value was announced"
    assert server.is_running
    assert ping(server)
    assert fetch(server, b"kept") == b"value"


# A client that pipelines without reading


def pipelined_command(server):
    """A short request whose reply is much longer, so unread replies pile up fast."""
    if is_resp(server.program):
        return b"COMMAND DOCS\r\n"
    if server.program == "mc-db-server":
        store(server, b"big", b"v" * 100_000)
        return b"get big\r\n"
    return b"stats\r\n"


def test_pipelining_without_reading_is_held_back(start_server, program):
    server = start_server(program)
    store(server, b"kept", b"value")
    assert_held_back(server, pipelined_command(server), total=1_000_000)


@pytest.mark.parametrize("program", RESP_QUEUE_PROGRAMS + MEMCACHE_QUEUE_PROGRAMS)
def test_big_reads_pipelined_without_reading_are_held_back(start_server, program):
    """Reads whose replies may be big (a whole queue, a peek at a big message) pipelined by a
    client that reads nothing: on the disk programs the processor answers them later, so the
    connection must not hand it more than it can send."""
    server = start_server(program)
    store(server, b"kept", b"value")
    with server.connect() as sock:
        if is_resp(program):
            for first in range(0, 2000, 500):
                sock.sendall(resp_command("RPUSH", "big", *[b"%04d" % n + b"x" * 600 for n in range(first, first + 500)]))
                assert recv_until(sock, terminator=b"\r\n") == b":%d\r\n" % (first + 500)
            command = resp_command("LRANGE", "big", 0, -1)  # a 1.2 MB reply
        else:
            sock.sendall(b"set big 0 0 500000\r\n" + b"v" * 500_000 + b"\r\n")
            assert recv_until(sock, terminator=b"\r\n") == b"STORED\r\n"
            command = b"get big/peek\r\n"  # a 0.5 MB reply
    assert_held_back(server, command, total=100_000, per_batch=100)


def assert_held_back(server, command, total, per_batch=1000):
    """Pipelines `command` up to `total` times, `per_batch` to a write, without reading a reply:
    the server's memory stays bounded, it answers other clients, and it keeps its data."""
    batch = command * per_batch
    sent = [0]
    writer_error = []
    sock = server.connect(timeout=600)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 16)

    def write():
        try:
            while sent[0] < total:
                sock.sendall(batch)
                sent[0] += per_batch
        except OSError as error:
            writer_error.append(error)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    peak = 0
    try:
        deadline = time.monotonic() + 6  # back-pressure takes hold within a second
        while time.monotonic() < deadline:
            peak = max(peak, rss_bytes(server))
            assert server.is_running
            assert ping(server), "the server stopped answering other clients"
            time.sleep(0.25)
        peak = max(peak, rss_bytes(server))
    finally:
        sock.shutdown(socket.SHUT_RDWR)
        sock.close()
        writer.join(60)
    print(f"\n{server.program}: {sent[0]} commands sent, peak RSS {peak}")
    assert peak < 300 * MiB, f"server RSS reached {peak} bytes with replies unread"
    assert server.is_running
    assert ping(server)
    assert fetch(server, b"kept") == b"value"


# Shutdown with clients connected


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_shutdown_with_clients_connected(start_server, program, sig):
    server = start_server(program)
    store(server, b"kept", b"value")
    idle = server.connect()
    partial = server.connect()
    try:
        partial.sendall(b"*3\r\n$4\r\nSADD\r\n" if is_resp(program) else b"set half 0 0 10\r\nhal")
        assert ping(server)
        assert server.stop(sig, timeout=60) == 0, "".join(server.log)
        assert expect_closed(idle) == b""
        assert expect_closed(partial) == b""
    finally:
        idle.close()
        partial.close()
