#!/usr/bin/env python3
"""Prints bench/callback's results (Markdown) and the ratios from run.sh's results.tsv.

    report.py results.tsv DURATION THREADS

Every server runs ROUNDS times, one after the other; the ratios use each server's median
requests/s, so that one slow minute of a shared VM does not decide the outcome.

The targets (issue 2) are judged on `wxlib-help`: the front door's safe-mode round trip with
dedupe and the event log on, answering a fixed text. That is the like-for-like of the peers: the
gunicorn app echoes, the ceiling answers `success`. `wxlib` (titles and authors, each searched in
the catalog and logged; the catalog is empty) and `wxlib-catalog` (words with hits in a real
catalog, a page of results rendered) show what a catalog search costs on top; bench/catalog
measures search alone.
"""
import re
import statistics
import sys

JUDGED = "wxlib-help"


def parse(path):
    rows = []
    for line in open(path, encoding="utf-8"):
        name, conns, result, load, check, extra, rnd = (line.rstrip("\n").split("\t") + [""] * 7)[:7]
        r = {k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", result)}
        rows.append(dict(name=name, conns=int(conns), r=r, load=load, check=check, extra=extra, round=rnd or "1"))
    return rows


def ms(us):
    return f"{us / 1000:.2f}"


def main():
    path, duration, threads = sys.argv[1], sys.argv[2], sys.argv[3]
    rows = parse(path)
    print(f"\n### Every run (wrk -t{threads}, {duration} s per run, keep-alive connections)\n")
    print("| round | server | conns | requests/s | p50 ms | p99 ms | requests | non-2xx | socket errors | load before; other cores | reply check | wxlib outcomes |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---|---|")
    for x in rows:
        r = x["r"]
        sock = int(r.get("connect", 0) + r.get("read", 0) + r.get("write", 0) + r.get("timeout", 0))
        outcomes = x["extra"]
        if x["name"].startswith("wxlib"):
            wraps = max(0, int(r.get("requests", 0)) - int(r.get("messages", 0)))
            outcomes += f"; messages={int(r.get('messages', 0))} (wrapped {wraps})"
        print(f"| {x['round']} | {x['name']} | {x['conns']} | {r.get('rps', 0):,.0f} | {ms(r.get('p50', 0))} | {ms(r.get('p99', 0))} | "
              f"{int(r.get('requests', 0)):,} | {int(r.get('non2xx', 0))} | {sock} | {x['load']} | {x['check']} | {outcomes} |")

    keys = []
    for x in rows:
        if (x["name"], x["conns"]) not in keys:
            keys.append((x["name"], x["conns"]))
    median = {}
    print("\n### Medians\n")
    print("| server | conns | median requests/s | every round |")
    print("|---|---:|---:|---|")
    for name, conns in keys:
        rps = [x["r"].get("rps", 0) for x in rows if (x["name"], x["conns"]) == (name, conns)]
        median[(name, conns)] = statistics.median(rps)
        print(f"| {name} | {conns} | {median[(name, conns)]:,.0f} | {', '.join(f'{v:,.0f}' for v in rps)} |")

    print("\n### Ratios (medians)\n")
    ok_all = True
    judged_against = 0  # how many targets this run could judge (a run without the peers judges none)
    for conns in sorted({c for _, c in keys}, reverse=True):
        ceiling = median.get(("ceiling", conns))
        guns = [(v, n) for (n, c), v in median.items() if c == conns and n.startswith("gunicorn")]
        best = max(guns) if guns else None
        for variant in ("wxlib-help", "wxlib", "wxlib-catalog"):
            wx = median.get((variant, conns))
            if wx is None:
                continue
            judged = variant == JUDGED
            parts = []
            if ceiling:
                q = wx / ceiling
                if judged:
                    ok_all &= q >= 0.5
                    judged_against += 1
                parts.append(f"{variant}/ceiling = {q:.2f}" + (f" (target >= 0.5: {'met' if q >= 0.5 else 'NOT met'})" if judged else ""))
            if best and best[0]:
                q = wx / best[0]
                if judged:
                    ok_all &= q >= 10
                    judged_against += 1
                parts.append(f"{variant}/{best[1]} = {q:.1f}" + (f" (target >= 10: {'met' if q >= 10 else 'NOT met'})" if judged else ""))
            if parts:
                print(f"- -c{conns}: " + "; ".join(parts) + ("" if judged else " (catalog search on top; not the round-trip target)"))
    bad = [x for x in rows if not x["check"].startswith("ok")]
    for x in bad:
        print(f"- reply check FAILED for {x['name']} -c{x['conns']} round {x['round']}: {x['check']}")
    if judged_against == 0:
        print(f"\nTargets not judged: this run has no ceiling or gunicorn beside `{JUDGED}`.")
    else:
        print(f"\nTargets (judged on `{JUDGED}`, the front door's round trip) {'met' if ok_all and not bad else 'NOT all met'} in this run.")


if __name__ == "__main__":
    main()
