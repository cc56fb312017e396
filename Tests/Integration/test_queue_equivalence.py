"""The RAM queue and the disk queue are one queue to their clients: seeded random conversations
(set and list commands, blocking ones too, mixed on the same few queues, good and bad arguments;
memcached pushes, pops and Kestrel reservations over two connections) get the same replies from
redis-queue-server and redis-diskqueue-server, and from mc-queue-server and mc-diskqueue-server.
"""

import socket

import pytest

from conftest import assert_same_replies_to_random_requests, reply_before_sentinel, resp_command

KEYS = ["k1", "k2", "k3"]
MEMBERS = ["a", "b", "c", "d", "", "x y"]
NUMBERS = ["0", "1", "2", "3", "-1", "-2", "5", "100", "x"]
ENDS = ["LEFT", "RIGHT"]


def random_resp_command(rng):
    name = rng.choice(
        ["SADD", "SPOP", "SCARD", "SISMEMBER", "SMISMEMBER", "SREM", "RPUSH", "LPUSH", "LPOP", "RPOP", "LLEN",
         "LRANGE", "LINDEX", "LREM", "LMOVE", "RPOPLPUSH", "DEL", "EXISTS", "TYPE", "DBSIZE", "FLUSHALL"]
    )
    if rng.random() < 0.04:  # now and then only: on an empty queue they wait
        name = rng.choice(["BLPOP", "BRPOP", "BLMOVE", "BRPOPLPUSH"])
    key = rng.choice(KEYS)
    members = [rng.choice(MEMBERS) for _ in range(rng.randint(1, 3))]
    count = [rng.choice(NUMBERS)] if rng.random() < 0.5 else []
    arguments = {
        "SADD": [key, *members],
        "SREM": [key, *members],
        "SMISMEMBER": [key, *members],
        "SISMEMBER": [key, members[0]],
        "RPUSH": [key, *members],
        "LPUSH": [key, *members],
        "SPOP": [key, *count],
        "LPOP": [key, *count],
        "RPOP": [key, *count],
        "SCARD": [key],
        "LLEN": [key],
        "TYPE": [key],
        "LRANGE": [key, rng.choice(NUMBERS), rng.choice(NUMBERS)],
        "LINDEX": [key, rng.choice(NUMBERS)],
        "LREM": [key, rng.choice(NUMBERS), members[0]],
        "LMOVE": [key, rng.choice(KEYS), rng.choice(ENDS), rng.choice(ENDS)],
        "RPOPLPUSH": [key, rng.choice(KEYS)],
        "DEL": rng.sample(KEYS, rng.randint(1, 2)),
        "EXISTS": rng.sample(KEYS, rng.randint(1, 2)),
        "DBSIZE": [],
        # Waits of 10 ms: on an empty queue both answer nil once it is over.
        "BLPOP": [*rng.sample(KEYS, rng.randint(1, 2)), "0.01"],
        "BRPOP": [*rng.sample(KEYS, rng.randint(1, 2)), "0.01"],
        "BLMOVE": [key, rng.choice(KEYS), rng.choice(ENDS), rng.choice(ENDS), "0.01"],
        "BRPOPLPUSH": [key, rng.choice(KEYS), "0.01"],
    }
    if name == "FLUSHALL" and rng.random() > 0.1:
        name = "DBSIZE"  # now and then only: it empties everything
    return [name, *arguments.get(name, [])]


class SentinelConnection:
    """One connection; each request's reply is read up to the reply of a sentinel sent after it."""

    def __init__(self, port, sentinel, sentinel_reply):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.sentinel, self.sentinel_reply = sentinel, sentinel_reply

    def close(self):
        self.sock.close()

    def ask(self, request):
        reply, closed = reply_before_sentinel(self.sock, request, self.sentinel, self.sentinel_reply)
        assert not closed, f"the connection closed after {request!r}: {reply!r}"
        return reply


RESP_SENTINEL = (resp_command("ECHO", "__sentinel__"), b"$12\r\n__sentinel__\r\n")
# `delete <key> <not 0>` answers a line that no request below produces, and changes nothing.
MEMCACHED_SENTINEL = (b"delete __sentinel__ 7\r\n", b"CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n")


@pytest.mark.parametrize("flags", [[], ["--allow-duplicates"]], ids=["unique", "duplicates"])
def test_random_resp_commands_get_the_same_replies_in_ram_and_on_disk(start_server, flags):
    ram = SentinelConnection(start_server("redis-queue-server", *flags).port, *RESP_SENTINEL)
    disk = SentinelConnection(start_server("redis-diskqueue-server", *flags).port, *RESP_SENTINEL)
    try:
        assert_same_replies_to_random_requests(
            random_resp_command,
            lambda command: ram.ask(resp_command(*command)),
            lambda command: disk.ask(resp_command(*command)),
            count=4000,
            seed=1204,
        )
    finally:
        ram.close()
        disk.close()


QUEUES = [b"q1", b"q2"]
MESSAGES = [b"a", b"b", b"c", b"", b"x y"]
KESTREL_OPTIONS = [b"", b"/open", b"/close", b"/abort", b"/peek", b"/close/open", b"/t=1", b"/t=1/open", b"/bogus"]
def random_memcached_request(rng):
    name = rng.choice([b"set", b"add", b"get", b"gets", b"delete", b"flush_all", b"kestrel", b"kestrel", b"kestrel"])
    queue = rng.choice(QUEUES)
    if name in (b"set", b"add"):
        message = rng.choice(MESSAGES)
        return b"%s %s %d 0 %d\r\n%s\r\n" % (name, queue, rng.choice([0, 1, 7]), len(message), message)
    if name in (b"get", b"gets"):
        return name + b" " + b" ".join(rng.sample(QUEUES, rng.randint(1, 2))) + b"\r\n"
    if name == b"delete":
        return b"delete " + queue + b"\r\n"
    if name == b"flush_all":
        return b"flush_all\r\n" if rng.random() < 0.2 else b"stats queue\r\n"
    return b"get " + queue + rng.choice(KESTREL_OPTIONS) + b"\r\n"


@pytest.mark.parametrize("flags", [[], ["--allow-duplicates"]], ids=["unique", "duplicates"])
def test_random_memcached_requests_get_the_same_replies_in_ram_and_on_disk(start_server, flags):
    ram_port = start_server("mc-queue-server", *flags).port
    disk_port = start_server("mc-diskqueue-server", *flags).port
    # Two clients each, so that reservations of one are invisible to the other.
    pairs = [(SentinelConnection(ram_port, *MEMCACHED_SENTINEL), SentinelConnection(disk_port, *MEMCACHED_SENTINEL)) for _ in range(2)]
    try:
        assert_same_replies_to_random_requests(
            lambda rng: (rng.randrange(len(pairs)), random_memcached_request(rng)),
            lambda request: pairs[request[0]][0].ask(request[1]),
            lambda request: pairs[request[0]][1].ask(request[1]),
            count=3000,
            seed=4122026,
        )
    finally:
        for ram, disk in pairs:
            ram.close()
            disk.close()
