"""Result-page latency with live availability, one client, and the Markdown report.

  measure.py run --server NAME=URL --queries queries.txt --per-page 10 --copies 2 --rounds 5 --out NAME.json
  measure.py report A.json B.json ... --command "…" > report.md

`run`: the queries are split in two halves, one per endpoint (/api/v1/search and /opac/search), so
each endpoint's first request for a query finds nothing of it cached: that request is **cold** (over
SIP2 every copy on the page is asked for with Item Information), and the ROUNDS repeats after it
are **warm** (within the TTL, nothing is asked). One keep-alive http.client connection; each request
timed with perf_counter from sending to having read the whole body. Every answer is checked: the
page has PER_PAGE hits, each with COPIES copies, and whether every availability is fresh (the API's
`availability.fresh`; the page's lack of `availability stale`) is counted, so a fast answer that only
gave last known statuses shows as such.

`report`: a table per endpoint with cold and warm p50/p99 per server, and the added latency of each
server over the first (the built-in system: the ceiling, no SIP2).
"""
import argparse
import http.client
import json
import statistics
import sys
import time
from urllib.parse import quote, urlparse


def percentile(xs, p):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = (len(xs) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


class Client:
    def __init__(self, url):
        u = urlparse(url)
        self.host, self.port = u.hostname, u.port
        self.conn = None

    def get(self, path):
        started = time.perf_counter()
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            try:
                self.conn.request("GET", path)
                r = self.conn.getresponse()
                body = r.read()
                return r.status, body, (time.perf_counter() - started) * 1000
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise


def check(endpoint, status, body, per_page, copies):
    """(answer as expected, every availability fresh)."""
    if status != 200:
        return False, False
    if endpoint == "api":
        j = json.loads(body)
        ok = len(j["hits"]) == per_page and all(h["availability"]["total"] == copies for h in j["hits"])
        return ok, all(h["availability"]["fresh"] for h in j["hits"])
    text = body.decode()
    ok = text.count('<div class="card"><a href="/opac/record/') == per_page
    return ok, "availability stale" not in text


def path_of(endpoint, q, per_page):
    if endpoint == "api":
        return f"/api/v1/search?q={quote(q)}&field=any&page=1&page_size={per_page}"
    return f"/opac/search?q={quote(q)}&field=any"


def run(a):
    name, url = a.server.split("=", 1)
    queries = [line.strip() for line in open(a.queries, encoding="utf-8") if line.strip()]
    half = len(queries) // 2
    plan = {"api": queries[:half], "opac": queries[half:2 * half]}
    c = Client(url)
    # Warm the connection and the index's first search on a query no endpoint measures.
    c.get(path_of("api", "warmup", a.per_page))
    out = {"server": name, "url": url, "per_page": a.per_page, "copies": a.copies, "rounds": a.rounds, "endpoints": {}}
    for endpoint, qs in plan.items():
        samples = {"cold": [], "warm": []}
        bad = {"cold": 0, "warm": 0}
        stale = {"cold": 0, "warm": 0}
        for q in qs:
            status, body, ms = c.get(path_of(endpoint, q, a.per_page))
            ok, fresh = check(endpoint, status, body, a.per_page, a.copies)
            samples["cold"].append(ms)
            bad["cold"] += not ok
            stale["cold"] += not fresh
        for _ in range(a.rounds):
            for q in qs:
                status, body, ms = c.get(path_of(endpoint, q, a.per_page))
                ok, fresh = check(endpoint, status, body, a.per_page, a.copies)
                samples["warm"].append(ms)
                bad["warm"] += not ok
                stale["warm"] += not fresh
        out["endpoints"][endpoint] = {
            k: {"n": len(v), "p50_ms": percentile(v, 0.5), "p99_ms": percentile(v, 0.99), "mean_ms": statistics.fmean(v),
                "max_ms": max(v), "bad": bad[k], "stale": stale[k]}
            for k, v in samples.items()
        }
    with open(a.out, "w") as f:
        json.dump(out, f, indent=1)
    for endpoint, e in out["endpoints"].items():
        print(f"{name} {endpoint}: " + ", ".join(f"{k} p50 {v['p50_ms']:.2f} ms p99 {v['p99_ms']:.2f} ms (n {v['n']}, stale {v['stale']}, bad {v['bad']})"
                                              for k, v in e.items()), file=sys.stderr)


def report(a):
    runs = [json.load(open(p)) for p in a.files]
    base = runs[0]
    lines = [f"Result pages of {base['per_page']} hits, {base['copies']} copies each; one client, keep-alive; "
             f"cold = the first request for a page (no copy of it cached), warm = {base['rounds']} repeats within the TTL. "
             f"\"added\" = the server's p50/p99 minus {base['server']}'s. \"fresh\" = answers whose every availability was fresh.", ""]
    for endpoint, label in (("api", "`/api/v1/search` (JSON)"), ("opac", "`/opac/search` (HTML)")):
        lines += [f"**{label}**", "",
                  "| server | cache | n | p50 ms | p99 ms | max ms | added p50 ms | added p99 ms | fresh | wrong answers |",
                  "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in runs:
            for cache in ("cold", "warm"):
                e = r["endpoints"][endpoint][cache]
                b = base["endpoints"][endpoint][cache]
                added = "–" if r is base else f"{e['p50_ms'] - b['p50_ms']:+.2f}"
                added99 = "–" if r is base else f"{e['p99_ms'] - b['p99_ms']:+.2f}"
                lines.append(f"| {r['server']} | {cache} | {e['n']} | {e['p50_ms']:.2f} | {e['p99_ms']:.2f} | {e['max_ms']:.2f} | "
                             f"{added} | {added99} | {e['n'] - e['stale']}/{e['n']} | {e['bad']} |")
        lines.append("")
    if a.command:
        lines += [f"Command: `{a.command}`", ""]
    print("\n".join(lines))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--server", required=True)
    r.add_argument("--queries", required=True)
    r.add_argument("--per-page", type=int, default=10)
    r.add_argument("--copies", type=int, default=2)
    r.add_argument("--rounds", type=int, default=5)
    r.add_argument("--out", required=True)
    p = sub.add_parser("report")
    p.add_argument("files", nargs="+")
    p.add_argument("--command", default="")
    a = ap.parse_args()
    run(a) if a.cmd == "run" else report(a)


if __name__ == "__main__":
    main()
