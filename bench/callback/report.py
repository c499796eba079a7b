#!/usr/bin/env python3
"""Prints bench/callback's results (Markdown) and the ratios from run.sh's results.tsv.

    report.py results.tsv DURATION THREADS [wxlib-version.txt]

Every server runs ROUNDS times, one after the other; the ratios use each server's median
requests/s, so that one slow minute of a shared VM does not decide the outcome. THREADS lists the
load shapes (wrk threads, e.g. "1 2"); each shape is reported on its own and side by side, since
wrk's second thread takes CPU from the server on a 2-core machine.

The targets (issue 2; issue 17 item 5 asks for ≥ 0.5× with two wrk threads too) are judged on
`wxlib-help`: the front door's safe-mode round trip with dedupe and the event log on, answering a
fixed text. That is the like-for-like of the peers: the gunicorn app echoes, the ceiling answers
`success`. `wxlib` (titles and authors, each searched in the catalog and logged; the catalog is
empty) and `wxlib-catalog` (words with hits in a real catalog, a page of results rendered) show what
a catalog search costs on top; bench/catalog measures search alone. `<variant>@base` rows are the
same variant run with the base binary (WXLIB_BIN_BASE / WXLIB_BASE_REV): the report gives each
variant's change over its base.
"""
import re
import statistics
import sys

JUDGED = "wxlib-help"
VARIANTS = ("wxlib-help", "wxlib", "wxlib-catalog")


def parse(path, default_threads):
    rows = []
    for line in open(path, encoding="utf-8"):
        name, conns, result, load, check, extra, rnd, threads = (line.rstrip("\n").split("\t") + [""] * 8)[:8]
        r = {k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", result)}
        rows.append(dict(name=name, conns=int(conns), r=r, load=load, check=check, extra=extra, round=rnd or "1",
                         threads=int(threads or default_threads)))
    return rows


def ms(us):
    return f"{us / 1000:.2f}"


def main():
    path, duration, threads_arg = sys.argv[1], sys.argv[2], sys.argv[3]
    versions = open(sys.argv[4], encoding="utf-8").read().strip() if len(sys.argv) > 4 else ""
    rows = parse(path, threads_arg.split()[0])
    shapes = []
    for x in rows:
        if x["threads"] not in shapes:
            shapes.append(x["threads"])
    if versions:
        print("\n" + "; ".join(versions.splitlines()))
    print(f"\n### Every run ({duration} s per run, keep-alive connections)\n")
    print("| round | wrk threads | server | conns | requests/s | p50 ms | p99 ms | requests | non-2xx | socket errors | load before; other cores | reply check | wxlib outcomes |")
    print("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---|---|")
    for x in rows:
        r = x["r"]
        sock = int(r.get("connect", 0) + r.get("read", 0) + r.get("write", 0) + r.get("timeout", 0))
        outcomes = x["extra"]
        if x["name"].startswith("wxlib"):
            wraps = max(0, int(r.get("requests", 0)) - int(r.get("messages", 0)))
            outcomes += f"; messages={int(r.get('messages', 0))} (wrapped {wraps})"
        print(f"| {x['round']} | {x['threads']} | {x['name']} | {x['conns']} | {r.get('rps', 0):,.0f} | {ms(r.get('p50', 0))} | "
              f"{ms(r.get('p99', 0))} | {int(r.get('requests', 0)):,} | {int(r.get('non2xx', 0))} | {sock} | {x['load']} | "
              f"{x['check']} | {outcomes} |")

    keys = []
    for x in rows:
        if (x["name"], x["conns"], x["threads"]) not in keys:
            keys.append((x["name"], x["conns"], x["threads"]))
    median = {}
    print("\n### Medians\n")
    print("| wrk threads | server | conns | median requests/s | every round |")
    print("|---:|---|---:|---:|---|")
    for key in keys:
        name, conns, thr = key
        rps = [x["r"].get("rps", 0) for x in rows if (x["name"], x["conns"], x["threads"]) == key]
        median[key] = statistics.median(rps)
        print(f"| {thr} | {name} | {conns} | {median[key]:,.0f} | {', '.join(f'{v:,.0f}' for v in rps)} |")

    print("\n### Ratios (medians)\n")
    ok_all = True
    judged_against = 0  # how many targets this run could judge (a run without the peers judges none)
    for thr in shapes:
        for conns in sorted({c for _, c, t in keys if t == thr}, reverse=True):
            ceiling = median.get(("ceiling", conns, thr))
            guns = [(v, n) for (n, c, t), v in median.items() if c == conns and t == thr and n.startswith("gunicorn")]
            best = max(guns) if guns else None
            for variant in VARIANTS:
                for name in (variant, f"{variant}@base"):
                    wx = median.get((name, conns, thr))
                    if wx is None:
                        continue
                    judged = name == JUDGED
                    parts = []
                    if ceiling:
                        q = wx / ceiling
                        if judged:
                            ok_all &= q >= 0.5
                            judged_against += 1
                        parts.append(f"{name}/ceiling = {q:.2f}" + (f" (target >= 0.5: {'met' if q >= 0.5 else 'NOT met'})" if judged else ""))
                    if best and best[0]:
                        q = wx / best[0]
                        if judged:
                            ok_all &= q >= 10
                            judged_against += 1
                        parts.append(f"{name}/{best[1]} = {q:.1f}" + (f" (target >= 10: {'met' if q >= 10 else 'NOT met'})" if judged else ""))
                    base = median.get((f"{name}@base", conns, thr))
                    if base:
                        parts.append(f"{name}/{name}@base = {wx / base:.2f} (the change)")
                    note = ""
                    if name.endswith("@base"):
                        note = " (the base binary)"
                    elif not judged:
                        note = " (catalog search on top; not the round-trip target)"
                    if parts:
                        print(f"- wrk -t{thr} -c{conns}: " + "; ".join(parts) + note)

    if len(shapes) > 1:
        # both shapes side by side: each server's median and its ratio to the ceiling, per shape
        print("\n### Both load shapes side by side (medians; ratio to the ceiling of the same shape)\n")
        conns_all = sorted({c for _, c, _ in keys}, reverse=True)
        names = []
        for n, _, _ in keys:
            if n not in names:
                names.append(n)
        head = ["server", "conns"] + [f"wrk -t{t} req/s" for t in shapes] + [f"÷ ceiling, -t{t}" for t in shapes]
        print("| " + " | ".join(head) + " |")
        print("|---|---:|" + "---:|" * (2 * len(shapes)))
        for conns in conns_all:
            for n in names:
                vals = [median.get((n, conns, t)) for t in shapes]
                if all(v is None for v in vals):
                    continue
                ratios = []
                for t, v in zip(shapes, vals):
                    c = median.get(("ceiling", conns, t))
                    ratios.append(f"{v / c:.2f}" if v and c and n != "ceiling" else "")
                print(f"| {n} | {conns} | " + " | ".join(f"{v:,.0f}" if v is not None else "–" for v in vals) + " | " + " | ".join(ratios) + " |")

    bad = [x for x in rows if not x["check"].startswith("ok")]
    for x in bad:
        print(f"- reply check FAILED for {x['name']} -c{x['conns']} -t{x['threads']} round {x['round']}: {x['check']}")
    if judged_against == 0:
        print(f"\nTargets not judged: this run has no ceiling or gunicorn beside `{JUDGED}`.")
    else:
        print(f"\nTargets (judged on `{JUDGED}`, the front door's round trip, in every load shape) "
              f"{'met' if ok_all and not bad else 'NOT all met'} in this run.")


if __name__ == "__main__":
    main()
