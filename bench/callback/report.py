#!/usr/bin/env python3
"""Prints bench/callback's results table (Markdown) and the ratios from run.sh's results.tsv.

    report.py results.tsv DURATION THREADS
"""
import re
import sys


def parse(path):
    rows = []
    for line in open(path, encoding="utf-8"):
        name, conns, result, load, check, extra = (line.rstrip("\n").split("\t") + [""] * 6)[:6]
        r = {k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", result)}
        rows.append(dict(name=name, conns=int(conns), r=r, load=load, check=check, extra=extra))
    return rows


def ms(us):
    return f"{us / 1000:.2f}"


def main():
    path, duration, threads = sys.argv[1], sys.argv[2], sys.argv[3]
    rows = parse(path)
    print(f"\n### Results (wrk -t{threads}, {duration} s per run, keep-alive connections)\n")
    print("| server | conns | requests/s | p50 ms | p99 ms | requests | non-2xx | socket errors | load before; other cores | reply check | wxlib outcomes |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|---|---|")
    for x in rows:
        r = x["r"]
        sock = int(r.get("connect", 0) + r.get("read", 0) + r.get("write", 0) + r.get("timeout", 0))
        outcomes = x["extra"]
        if x["name"].startswith("wxlib"):
            wraps = max(0, int(r.get("requests", 0)) - int(r.get("messages", 0)))
            outcomes += f"; messages={int(r.get('messages', 0))} (wrapped {wraps})"
        print(f"| {x['name']} | {x['conns']} | {r.get('rps', 0):,.0f} | {ms(r.get('p50', 0))} | {ms(r.get('p99', 0))} | "
              f"{int(r.get('requests', 0)):,} | {int(r.get('non2xx', 0))} | {sock} | {x['load']} | {x['check']} | {outcomes} |")
    print("\n### Ratios\n")
    ok_all = True
    for conns in sorted({x["conns"] for x in rows}, reverse=True):
        at = [x for x in rows if x["conns"] == conns]
        get = lambda n: next((x["r"].get("rps", 0) for x in at if x["name"] == n), None)  # noqa: E731
        ceiling = get("ceiling")
        guns = [(x["r"].get("rps", 0), x["name"]) for x in at if x["name"].startswith("gunicorn")]
        best = max(guns) if guns else None
        for variant in ("wxlib", "wxlib-help"):
            wx = get(variant)
            if wx is None:
                continue
            parts = []
            if ceiling:
                q = wx / ceiling
                ok_all &= q >= 0.5 or variant != "wxlib"
                parts.append(f"{variant}/ceiling = {q:.2f} (target >= 0.5: {'met' if q >= 0.5 else 'NOT met'})")
            if best and best[0]:
                q = wx / best[0]
                ok_all &= q >= 10 or variant != "wxlib"
                parts.append(f"{variant}/{best[1]} = {q:.1f} (target >= 10: {'met' if q >= 10 else 'NOT met'})")
            print(f"- -c{conns}: " + "; ".join(parts))
    bad = [x for x in rows if not x["check"].startswith("ok")]
    for x in bad:
        print(f"- reply check FAILED for {x['name']} -c{x['conns']}: {x['check']}")
    print(f"\nTargets (judged on `wxlib`, the default texts) {'met' if ok_all and not bad else 'NOT all met'} in this run.")


if __name__ == "__main__":
    main()
