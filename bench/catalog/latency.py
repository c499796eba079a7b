"""Single-client search latency, every server side by side.

One keep-alive http.client connection per server (reopened only if the server closes it; the
reconnects are counted and the connect time is part of the request that needed it). Each request
is timed with time.perf_counter() from sending to having read the whole body. A warm-up round over
all queries, then ROUNDS rounds; each round runs every query on each server in turn, so all see the
same machine conditions.

Servers are NAME=URL; `zebra` is asked the query set's CQL over SRU, every other name (wxlib, base,
ceiling) wxlib's /api/v1/search and answers JSON with `total` and `hits[].id`. Besides the times:
whether wxlib and Zebra both find 0 or >0 hits per query, and whether each other JSON server returns
the same total and the same ids in the same order as wxlib (the ceiling runs on wxlib's own index,
so any difference there is a bug; a base binary has its own import, whose segment layout orders
equally scored hits differently, so its pages are also compared as sets of ids).

usage: latency.py --server wxlib=http://127.0.0.1:P [--server zebra=http://127.0.0.1:Q ...]
                  [--rounds 5] [--warmup 1] [--tsv queries.tsv] --out latency.json
"""

import argparse
import http.client
import json
import re
import statistics
import sys
import time
from urllib.parse import urlparse

import queries as Q

NUM_RE = re.compile(rb"numberOfRecords>\s*(\d+)\s*<")
DIAG_RE = re.compile(rb"<(?:\w+:)?message>([^<]*)<")


class Client:
    def __init__(self, base):
        u = urlparse(base)
        self.host, self.port = u.hostname, u.port
        self.conn = None
        self.connects = 0

    def get(self, path):
        t0 = time.perf_counter()
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            self.connects += 1
        try:
            self.conn.request("GET", path)
            r = self.conn.getresponse()
            body = r.read()
        except (http.client.HTTPException, OSError):
            # the server closed an idle keep-alive connection: retry once on a new one
            self.conn.close()
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            self.connects += 1
            self.conn.request("GET", path)
            r = self.conn.getresponse()
            body = r.read()
        dt = time.perf_counter() - t0
        if r.will_close:
            self.conn.close()
            self.conn = None
        return dt, r.status, body


def path_kind(server):
    """Which request path of queries.py a server is asked: Zebra's SRU or wxlib's API."""
    return "zebra" if server == "zebra" else "wxlib"


def hits(server, status, body):
    """(hit count or None, the page's ids or None, error text or None)"""
    if status != 200:
        return None, None, f"HTTP {status}: {body[:200]!r}"
    if path_kind(server) == "wxlib":
        try:
            page = json.loads(body)
            return int(page["total"]), [str(h["id"]) for h in page["hits"]], None
        except (ValueError, KeyError, TypeError) as e:
            return None, None, f"bad JSON: {e}"
    m = NUM_RE.search(body)
    if m:
        return int(m.group(1)), None, None
    d = DIAG_RE.search(body)
    return None, None, "SRU diagnostic: " + (d.group(1).decode("utf-8", "replace") if d else body[:200].decode("utf-8", "replace"))


def pct(xs, p):
    """Nearest-rank percentile (p in 0..100) of a list of seconds, in ms."""
    s = sorted(xs)
    if not s:
        return None
    k = max(0, min(len(s) - 1, int(-(-p * len(s) // 100)) - 1))
    return s[k] * 1000


def summary(xs):
    return {"n": len(xs), "p50_ms": pct(xs, 50), "p90_ms": pct(xs, 90), "p99_ms": pct(xs, 99),
            "mean_ms": statistics.fmean(xs) * 1000 if xs else None, "max_ms": max(xs) * 1000 if xs else None}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", action="append", required=True, metavar="NAME=URL")
    ap.add_argument("--tsv", default=Q.DEFAULT_TSV)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    qs = Q.load(a.tsv)
    servers = {}
    for spec in a.server:
        name, sep, url = spec.partition("=")
        if not sep:
            ap.error(f"--server {spec}: expected NAME=URL")
        servers[name] = Client(url)
    times = {s: [[] for _ in qs] for s in servers}
    result_hits = {s: [None] * len(qs) for s in servers}
    result_ids = {s: [None] * len(qs) for s in servers}
    errors = {s: {} for s in servers}

    for rnd in range(a.warmup + a.rounds):
        measured = rnd >= a.warmup
        for s, c in servers.items():
            for i, q in enumerate(qs):
                dt, status, body = c.get(q[path_kind(s)])
                n, ids, err = hits(s, status, body)
                if err:
                    errors[s][i] = err
                elif rnd == 0:
                    result_hits[s][i] = n
                    result_ids[s][i] = ids
                if measured:
                    times[s][i].append(dt)
        print(f"  round {rnd + 1}/{a.warmup + a.rounds}{'' if measured else ' (warm-up)'} done", file=sys.stderr)

    out = {"queries": len(qs), "rounds": a.rounds, "warmup": a.warmup, "servers": {}}
    kinds = sorted({q["kind"] for q in qs})
    for s in servers:
        flat = [t for ts in times[s] for t in ts]
        per_kind = {}
        for k in kinds:
            per_kind[k] = summary([t for i, q in enumerate(qs) if q["kind"] == k for t in times[s][i]])
        slowest = sorted(range(len(qs)), key=lambda i: -statistics.median(times[s][i]))[:8]
        out["servers"][s] = {
            "overall": summary(flat),
            "per_kind": per_kind,
            "connects": servers[s].connects,
            "errors": {qs[i]["kind"] + " " + qs[i]["text"]: e for i, e in errors[s].items()},
            "zero_hit_queries": sum(1 for h in result_hits[s] if h == 0),
            "slowest": [{"kind": qs[i]["kind"], "text": qs[i]["text"], "median_ms": statistics.median(times[s][i]) * 1000,
                         "hits": result_hits[s][i]} for i in slowest],
        }

    # the same answers as wxlib's: totals and the page's ids, per other JSON server
    out["same_as_wxlib"] = {}
    for s in servers:
        if s == "wxlib" or path_kind(s) != "wxlib" or "wxlib" not in servers:
            continue
        diff = [{"kind": q["kind"], "text": q["text"], "wxlib": result_hits["wxlib"][i], s: result_hits[s][i],
                 "same_ids": result_ids["wxlib"][i] == result_ids[s][i]}
                for i, q in enumerate(qs)
                if result_hits["wxlib"][i] != result_hits[s][i] or result_ids["wxlib"][i] != result_ids[s][i]]
        out["same_as_wxlib"][s] = {
            "same_total": sum(1 for i in range(len(qs)) if result_hits["wxlib"][i] == result_hits[s][i]),
            "same_ids": sum(1 for i in range(len(qs)) if result_ids["wxlib"][i] == result_ids[s][i]),
            # the same page in another order: hits with equal scores (a record and its re-keyed copies
            # always tie) come in document order, which depends on how each import laid out segments
            "same_id_set": sum(1 for i in range(len(qs)) if sorted(result_ids["wxlib"][i] or []) == sorted(result_ids[s][i] or [])),
            "queries": len(qs), "differences": diff}

    out["hits"] = [{"kind": q["kind"], "text": q["text"], **{s: result_hits[s][i] for s in servers}} for i, q in enumerate(qs)]
    if "wxlib" in servers and "zebra" in servers:
        out["agreement"] = agreement(qs, kinds, result_hits)
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
    for s in servers:
        o = out["servers"][s]["overall"]
        print(f"  {s}: p50 {o['p50_ms']:.2f} ms  p99 {o['p99_ms']:.2f} ms  mean {o['mean_ms']:.2f} ms  "
              f"(n={o['n']}, connects={servers[s].connects}, errors={len(errors[s])})", file=sys.stderr)
    for s, d in out["same_as_wxlib"].items():
        print(f"  {s} vs wxlib: same total for {d['same_total']}/{d['queries']} queries, same ids for {d['same_ids']} "
              f"(in any order {d['same_id_set']})", file=sys.stderr)


def agreement(qs, kinds, result_hits):
    """wxlib and Zebra: 0 vs >0 hits, overall and per kind, and the disagreements."""
    servers = ("wxlib", "zebra")
    agree = {"both_zero": 0, "both_some": 0, "only_wxlib": 0, "only_zebra": 0, "error": 0}
    per_kind = {k: dict(agree) for k in kinds}
    disagreements, big_ratio = [], []
    for i, q in enumerate(qs):
        w, z = result_hits["wxlib"][i], result_hits["zebra"][i]
        if w is None or z is None:
            key = "error"
        elif w == 0 and z == 0:
            key = "both_zero"
        elif w > 0 and z > 0:
            key = "both_some"
            hi, lo = max(w, z), min(w, z)
            if hi >= 5 * lo and hi - lo >= 10:
                big_ratio.append({"kind": q["kind"], "text": q["text"], "wxlib": w, "zebra": z})
        elif w > 0:
            key = "only_wxlib"
        else:
            key = "only_zebra"
        agree[key] += 1
        per_kind[q["kind"]][key] += 1
        if key in ("only_wxlib", "only_zebra", "error"):
            disagreements.append({"kind": q["kind"], "text": q["text"], "wxlib": w, "zebra": z})
    per_kind_hits = {}
    for k in kinds:
        idx = [i for i, q in enumerate(qs) if q["kind"] == k]
        per_kind_hits[k] = {s: statistics.median([result_hits[s][i] or 0 for i in idx]) for s in servers}
    return {"overall": agree, "per_kind": per_kind, "disagreements": disagreements,
            "hit_count_5x_apart": big_ratio, "median_hits_per_kind": per_kind_hits}


if __name__ == "__main__":
    main()
