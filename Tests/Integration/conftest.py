"""Integration tests: the real programs on loopback ports, driven by real clients.

The programs are the release binaries in .build/release (bin/test builds them first). Each
server starts on --port 0 and the test reads the port it bound from its log.
"""

import os
import random
import re
import resource
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("DISKQUEUE_BUILD", ROOT / ".build" / "release"))
READY = re.compile(r"ready to accept connections on (\S+):(\d+)")

RESP_QUEUE_PROGRAMS = ["redis-queue-server", "redis-diskqueue-server"]
MEMCACHE_QUEUE_PROGRAMS = ["mc-queue-server", "mc-diskqueue-server"]
DISK_PROGRAMS = {"redis-diskqueue-server", "mc-diskqueue-server"}


# Pids of the servers started and not yet seen to exit, so none outlives the run when a test
# fails before stopping it. Pids only: holding the Server objects would hold their pipes open.
_UNSTOPPED = set()


def pytest_sessionfinish(session, exitstatus):
    for pid in _UNSTOPPED:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                ours = str(BUILD).encode() in cmdline.read()
            if ours:
                os.kill(pid, signal.SIGKILL)
        except (FileNotFoundError, ProcessLookupError):
            pass


class Server:
    """One running program. Its stderr is drained on a thread so it never blocks on a full pipe."""

    def __init__(self, program, args=(), data_dir=None, cwd=None, file_size_limit=None, open_files_limit=None):
        self.program = program
        self.args = list(args)
        self.data_dir = data_dir
        self.cwd = cwd
        # Bytes any one file of the server may reach (`ulimit -f`), to make a disk "full".
        self.file_size_limit = file_size_limit
        # Descriptors the server may have open (`ulimit -n`).
        self.open_files_limit = open_files_limit
        self.process = None
        self.port = None
        self.log = []

    @property
    def binary(self):
        return BUILD / self.program

    def start(self, timeout=60):
        args = [str(self.binary), "--port", "0", *self.args]
        if self.program in DISK_PROGRAMS and not any(a.startswith("--data-dir") for a in self.args):
            args += ["--data-dir", self.data_dir]
        self.log = []
        limits = [(resource.RLIMIT_FSIZE, self.file_size_limit), (resource.RLIMIT_NOFILE, self.open_files_limit)]

        def set_limits():
            for which, limit in limits:
                if limit is not None:
                    resource.setrlimit(which, (limit, limit))

        self.process = subprocess.Popen(
            args, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, cwd=self.cwd,
            preexec_fn=set_limits,
        )
        _UNSTOPPED.add(self.process.pid)
        ready = threading.Event()

        def drain(stream, log):
            for line in stream:
                log.append(line)
                match = READY.search(line)
                if match and not ready.is_set():
                    self.port = int(match.group(2))
                    ready.set()
            ready.set()

        threading.Thread(target=drain, args=(self.process.stderr, self.log), daemon=True).start()
        if not ready.wait(timeout) or self.port is None:
            self.process.kill()
            raise RuntimeError(f"{self.program} did not start:\n{''.join(self.log)}")
        return self

    def stop(self, sig=signal.SIGTERM, timeout=60):
        """Sends `sig` and waits; returns the exit code."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"{self.program} did not exit within {timeout}s after {sig}")
        finally:
            _UNSTOPPED.discard(self.process.pid)

    def kill(self):
        self.process.kill()
        self.process.wait()
        _UNSTOPPED.discard(self.process.pid)

    def restart(self):
        self.stop()
        return self.start()

    def connect(self, timeout=10):
        return socket.create_connection(("127.0.0.1", self.port), timeout=timeout)

    @property
    def is_running(self):
        return self.process is not None and self.process.poll() is None


@pytest.fixture
def data_dir():
    with tempfile.TemporaryDirectory(prefix="diskqueue-test-") as directory:
        yield directory


@pytest.fixture
def start_server(data_dir):
    """start_server(program, *args) -> a running Server, stopped at the end of the test."""
    servers = []

    def start(program, *args, data_dir_override=None):
        server = Server(program, args, data_dir_override or data_dir).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        if server.is_running:
            code = server.stop()
            assert code == 0, f"{server.program} exited with {code} on SIGTERM:\n{''.join(server.log)}"


def wait_until(condition, timeout=10, interval=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def recv_until(sock, terminator=None, count=None, timeout=10):
    """Reads until `terminator` ends the data, or `count` bytes arrived, or the peer closes."""
    sock.settimeout(timeout)
    data = b""
    while True:
        if terminator is not None and data.endswith(terminator):
            return data
        if count is not None and len(data) >= count:
            return data
        chunk = sock.recv(1 << 20)
        if not chunk:
            return data
        data += chunk


def reply_before_sentinel(sock, request, sentinel, sentinel_reply):
    """Sends `request`, then `sentinel`, a request whose reply `sentinel_reply` nothing else
    answers, and reads up to that reply: (what came before it, whether the server closed the
    connection first)."""
    sock.sendall(request + sentinel)
    received = b""
    while not received.endswith(sentinel_reply):
        try:
            chunk = sock.recv(1 << 16)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            return received, True
        received += chunk
    return received[: -len(sentinel_reply)], False


def resp_command(*args):
    """Encodes one RESP request."""
    out = b"*%d\r\n" % len(args)
    for arg in args:
        arg = arg if isinstance(arg, bytes) else str(arg).encode()
        out += b"$%d\r\n%s\r\n" % (len(arg), arg)
    return out


def assert_same_replies_to_random_requests(generate, reference, subject, count, seed):
    """Sends `count` requests made by `generate(rng)` (seeded with `seed`) to `reference` and to
    `subject`, each a function from a request to its reply, and fails at the first reply that
    differs, showing the requests that led there."""
    rng = random.Random(seed)
    history = []
    for _ in range(count):
        request = generate(rng)
        history.append(request)
        expected, actual = reference(request), subject(request)
        assert actual == expected, (
            f"seed {seed}, after {history[-6:-1]}: {request!r}\n    expected: {expected!r}\n    got:      {actual!r}"
        )
