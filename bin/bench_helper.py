#!/usr/bin/env python3
"""Helper of bin/bench (DiskQueue's benchmark script); not meant to be run by hand.

Subcommands:
  free-port [USED...]          print a free loopback TCP port not among USED
  gen-sadd KEY COUNT SIZE PREFIX [PER_COMMAND]
                               write RESP `SADD KEY m1 m2 ...` commands to stdout for
                               `redis-cli --pipe`: COUNT distinct members of exactly SIZE bytes
                               (PREFIX, a zero-padded index, then 'x' padding), PER_COMMAND
                               members per SADD (default 1000)
  stall-probe PORT SECONDS COMMAND [ARG...]
                               send COMMAND on one connection while another sends
                               `SCARD stall-probe` (a command the processor answers, unlike
                               PING) after the last for SECONDS from then on; print the longest
                               and the 99th percentile round trip of those in milliseconds, how
                               many there were, and COMMAND's reply
  table RESULTS.tsv [HEADER.txt]
                               print the results table (markdown) from bin/bench's samples

Samples (one line each, tab-separated), written by bin/bench:
  S  scenario  figure  role  program  value  unit  better  target  note
     role: ours | anchor; value: a number, or empty when the run failed (note says why);
     better: higher | lower; target: e.g. ">=1.0", "<=1.2" or "-" (reported only).
     Several anchor programs for one figure (memcached -t 1 and -t 2): the best median is the
     anchor, the others are named in the notes.
  N  scenario  text            a line printed under the table (the exact load and servers)
"""

import socket
import statistics
import sys
import threading
import time


def free_port(used):
    used = set(int(u) for u in used)
    for _ in range(100):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        if port not in used:
            print(port)
            return 0
    return 1


def gen_sadd(key, count, size, prefix, per_command=1000):
    key_b = key.encode()
    out = sys.stdout.buffer
    count, size, per_command = int(count), int(size), int(per_command)
    digits = len(str(max(count - 1, 0)))
    stem = prefix.encode()
    pad_len = size - len(stem) - digits
    if pad_len < 0:
        sys.stderr.write("gen-sadd: SIZE too small for PREFIX and COUNT\n")
        return 2
    pad = b"x" * pad_len
    member_head = b"$%d\r\n" % size
    fmt = b"%%0%dd" % digits
    i = 0
    while i < count:
        n = min(per_command, count - i)
        parts = [b"*%d\r\n$4\r\nSADD\r\n$%d\r\n%s\r\n" % (n + 2, len(key_b), key_b)]
        for j in range(i, i + n):
            parts.append(member_head + stem + (fmt % j) + pad + b"\r\n")
        out.write(b"".join(parts))
        i += n
    out.flush()
    return 0


def resp_command(*args):
    parts = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(parts)


def stall_probe(port, seconds, *command):
    """How long another client's commands wait while COMMAND runs (and the work it leaves behind)."""
    port, seconds = int(port), float(seconds)
    probe = socket.create_connection(("127.0.0.1", port))
    probe.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    worker = socket.create_connection(("127.0.0.1", port))
    reply = []

    def run_command():
        worker.sendall(resp_command(*command))
        reply.append(worker.recv(4096).decode(errors="replace").strip())

    probe_command = resp_command("SCARD", "stall-probe")
    rtts = []
    thread = threading.Thread(target=run_command)
    thread.start()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        start = time.monotonic()
        probe.sendall(probe_command)
        got = b""
        while not got.endswith(b"\r\n"):
            chunk = probe.recv(64)
            if not chunk:
                sys.stderr.write("stall-probe: the server closed the connection\n")
                return 1
            got += chunk
        rtts.append(time.monotonic() - start)
    thread.join()
    rtts.sort()
    p99 = rtts[min(len(rtts) - 1, int(len(rtts) * 0.99))]
    print(f"{rtts[-1] * 1000:.1f} {p99 * 1000:.2f} {len(rtts)} {reply[0] if reply else '-'}")
    return 0


def fmt_value(v, unit):
    if unit in ("req/s", "ops/s", "msg/s"):
        return f"{v:,.0f}"
    if unit == "MB":
        return f"{v:,.1f}"
    if unit == "s":
        return f"{v:,.1f}"
    if unit == "%":
        return f"{v:.1f}"
    return f"{v:,.2f}"


def short(v, unit):
    if unit in ("req/s", "ops/s", "msg/s"):
        return f"{v / 1000:.0f}k" if v >= 10000 else f"{v:.0f}"
    return fmt_value(v, unit)


def table(path, header_path=None):
    figures = {}   # (scenario, figure) -> dict
    order = []
    notes = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if cols[0] == "N" and len(cols) >= 3:
                notes.append((cols[1], cols[2]))
                continue
            if cols[0] != "S" or len(cols) < 10:
                continue
            _, scen, fig, role, prog, value, unit, better, target, note = cols[:10]
            key = (scen, fig)
            if key not in figures:
                figures[key] = {"unit": unit, "better": better, "target": target,
                                "ours": {}, "anchor": {}}
                order.append(key)
            d = figures[key][role].setdefault(prog, {"values": [], "fails": []})
            if value != "":
                d["values"].append(float(value))
            else:
                d["fails"].append(note or "failed")

    def summary(progs, better):
        """-> (program, median or None, text, runs text, other-anchors text)"""
        if not progs:
            return None, None, "-", "-", ""
        meds = {}
        for p, d in progs.items():
            if d["values"]:
                meds[p] = statistics.median(d["values"])
        if meds:
            pick = (max if better == "higher" else min)(meds, key=lambda p: meds[p])
        else:
            pick = next(iter(progs))
        d = progs[pick]
        others = [f"{p}: {fmt_value(m, unit)}" for p, m in meds.items() if p != pick]
        others += [f"{p}: failed ({progs[p]['fails'][0]})" for p in progs if p not in meds]
        if pick in meds:
            text = fmt_value(meds[pick], unit)
            if d["fails"]:
                text += f" ({len(d['fails'])} of {len(d['fails']) + len(d['values'])} runs failed: {d['fails'][0]})"
            runs = " ".join(short(v, unit) for v in d["values"])
            return pick, meds[pick], text, runs, "; ".join(others)
        return pick, None, "FAILED: " + d["fails"][0], "-", "; ".join(others)

    rows = []
    for key in order:
        fig = figures[key]
        unit = fig["unit"]
        op, ov, otext, oruns, _ = summary(fig["ours"], fig["better"])
        ap, av, atext, aruns, aothers = summary(fig["anchor"], fig["better"])
        if ov is not None and av:
            ratio = ov / av
            rtext = f"{ratio:.2f}"
            t = fig["target"]
            if t.startswith(">="):
                met = "yes" if ratio >= float(t[2:]) else "NO"
            elif t.startswith("<="):
                met = "yes" if ratio <= float(t[2:]) else "NO"
            else:
                met = "-"
        else:
            rtext, met = "-", "-"
        target = fig["target"].replace(">=", "≥ ").replace("<=", "≤ ")
        rows.append([key[0], f"{key[1]} ({unit})", f"{op}: {otext}" if op else "-",
                     f"{ap}: {atext}" if ap else "-", rtext, target, met,
                     f"{oruns} / {aruns}" + (f"; other anchors: {aothers}" if aothers else "")])

    if header_path:
        with open(header_path, encoding="utf-8") as h:
            sys.stdout.write(h.read())
        print()
    head = ["scenario", "figure", "ours (median)", "anchor (median)", "ours/anchor",
            "target", "met", "runs: ours / anchor"]
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---" for _ in head) + "|")
    for r in rows:
        print("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |")
    if notes:
        print()
        for scen, text in notes:
            print(f"- {scen}: {text}")
    return 0


def main(argv):
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    cmd, args = argv[1], argv[2:]
    if cmd == "free-port":
        return free_port(args)
    if cmd == "gen-sadd":
        return gen_sadd(*args)
    if cmd == "stall-probe":
        return stall_probe(*args)
    if cmd == "table":
        return table(*args)
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
