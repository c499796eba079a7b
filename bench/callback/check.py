#!/usr/bin/env python3
"""Helpers for bench/callback/run.sh.

    check.py reply URL EXPECT [TEXT]  send one fresh safe-mode message to URL/wechat and check the reply:
                                  EXPECT=echo     encrypted text reply echoing the message (wechatpy app)
                                  EXPECT=text     encrypted text reply with any non-empty content (wxlib)
                                  EXPECT=success  the plain body `success` (the ceiling)
                                  prints one line: `ok <what>` or `FAIL <why>` (exit 1)
    check.py metrics URL          wxlib's callback counters from URL/metrics as `outcome=count` pairs
    check.py dbcount DB           rows in wxlib's event_log and callback_dedupe (SQLite file)
    check.py port                 a free localhost port
    check.py cpuwatch SERVER_PID WRK_PID
                                  while WRK_PID runs, how busy the rest of the machine was: prints the
                                  average number of cores used by processes other than the server
                                  (and its children) and wrk, e.g. `0.03` (another build running
                                  shows up here as 0.5 or more)
"""
import os
import time
import re
import socket
import sqlite3
import sys
import urllib.request
from urllib.parse import urlencode

import xmltodict
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto, _get_signature

import gen_messages as g


def reply(url, expect, text="titles"):
    q, body, sender, content = g.make(0, 1, 24_999_000_000_000_000 + (hash(url) & 0xFFFFFF), str(int(__import__("time").time())), text)
    req = urllib.request.Request(f"{url}/wechat?{urlencode(q)}", data=body.encode(), method="POST",
                                 headers={"Content-Type": "text/xml"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            status, text = r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return f"FAIL HTTP {e.code}: {e.read()[:200]!r}"
    if status != 200:
        return f"FAIL HTTP {status}"
    if expect == "success":
        return "ok: plain `success`" if text.strip() == "success" else f"FAIL expected success, got {text[:100]!r}"
    try:
        env = xmltodict.parse(text)["xml"]
        ts, nonce, sig, enc = env["TimeStamp"], env["Nonce"], env["MsgSignature"], env["Encrypt"]
    except Exception as e:  # noqa: BLE001
        return f"FAIL not an encrypted envelope ({e}): {text[:200]!r}"
    if sig != _get_signature(g.TOKEN, ts, nonce, enc):
        return "FAIL MsgSignature does not verify"
    try:
        plain = WeChatCrypto(g.TOKEN, g.AESKEY, g.APPID).decrypt_message(text, sig, ts, nonce)
    except Exception as e:  # noqa: BLE001
        return f"FAIL wechatpy cannot decrypt the reply: {e!r}"
    msg = parse_message(plain)
    if msg.type != "text":
        return f"FAIL reply type {msg.type}"
    if msg.source != g.GH or msg.target != sender:
        return f"FAIL reply from {msg.source} to {msg.target}, expected from {g.GH} to {sender}"
    if not msg.content:
        return "FAIL empty reply content"
    if expect == "echo" and msg.content != content:
        return f"FAIL echo {msg.content!r} != {content!r}"
    shown = msg.content.replace("\n", " ")[:10]
    return f"ok: encrypted text reply, wechatpy decrypts it ({'echo' if expect == 'echo' else repr(shown) + '…'})"


# server.metrics_token run.sh gives the servers it starts (older builds ignore the header).
METRICS_TOKEN = "bench-callback-metrics-token"


def metrics(url):
    req = urllib.request.Request(f"{url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        text = r.read().decode()
    counts = {}
    for m in re.finditer(r'^wxlib_callbacks_total\{([^}]*)\}\s+(\S+)$', text, re.M):
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
        key = labels.get("outcome", "?")
        counts[key] = counts.get(key, 0) + int(float(m.group(2)))
    return " ".join(f"{k}={v}" for k, v in sorted(counts.items()))


def dbcount(path):
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    out = []
    for table in ("event_log", "callback_dedupe", "followers"):
        out.append(f"{table}={con.execute(f'SELECT COUNT(*) FROM {table}').fetchone()[0]}")
    return " ".join(out)


def _tree(pid):
    """pid and all its descendants."""
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                kids.setdefault(ppid, []).append(int(d))
            except (OSError, IndexError, ValueError):
                pass
    out, todo = set(), [pid]
    while todo:
        p = todo.pop()
        out.add(p)
        todo.extend(kids.get(p, []))
    return out


def _jiffies(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime (fields 14, 15)
    except (OSError, IndexError, ValueError):
        return 0


def _busy():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v) - v[3] - v[4]  # all but idle and iowait


def cpuwatch(server_pid, wrk_pid):
    server_pid, wrk_pid = int(server_pid), int(wrk_pid)
    hz = os.sysconf("SC_CLK_TCK")
    ours_seen = {}  # pid -> last jiffies (so processes that exit meanwhile still count)
    first = last = None
    while os.path.exists(f"/proc/{wrk_pid}"):
        pids = _tree(server_pid) | {wrk_pid}
        for p in pids:
            j = _jiffies(p)
            if j:
                ours_seen[p] = j
        snap = (time.monotonic(), _busy(), sum(ours_seen.values()))
        if first is None:
            first = snap
        last = snap
        time.sleep(0.5)
    if not first or last[0] - first[0] < 1:
        return "?"
    other = (last[1] - first[1]) - (last[2] - first[2])
    return f"{max(0, other) / hz / (last[0] - first[0]):.2f}"


def port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "reply":
        line = reply(*sys.argv[2:5])
        print(line)
        sys.exit(0 if line.startswith("ok") else 1)
    print({"metrics": metrics, "dbcount": dbcount, "port": port, "cpuwatch": cpuwatch}[cmd](*sys.argv[2:]))
