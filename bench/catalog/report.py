"""bench/catalog's report: reads a run directory (metrics.env, and per scale x<K>/ with metrics.env,
latency.json, wrk-<server>-r<round>.txt, mem-peak-<server>-r<round>.json), prints a table per scale
and the growth from the first scale, writes bench/catalog/results-<date>[-<N>rec].md and, with
--benchmarks yes, the section "Catalog: import and search (bench/catalog)" of BENCHMARKS.md
(replacing that section only; every other section is kept as it is).

Servers: wxlib, base (shown as wxlib@base: the --base-bin binary), ceiling (the search crate
alone on wxlib's index), zebra. Throughput is the median of the wrk rounds; "fraction of the
engine's limit" is wxlib's median ÷ the ceiling's, both measured in the same run with the same wrk
settings.

usage: report.py --run DIR --root REPO [--benchmarks yes|no]
"""

import argparse
import glob
import json
import os
import re
import statistics
import sys

SECTION = "## Catalog: import and search (bench/catalog)"
LC_RECORDS = 250_000
LABEL = {"wxlib": "wxlib", "base": "wxlib@base", "ceiling": "ceiling (engine alone)", "zebra": "Zebra 2.2.7 (SRU)"}
SHORT = {"wxlib": "wxlib", "base": "wxlib@base", "ceiling": "ceiling", "zebra": "Zebra"}


def read_metrics(path):
    m = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            k, _, v = line.rstrip("\n").partition("=")
            m[k] = v
    for k in list(m):
        if m[k].startswith("{"):
            m[k] = json.loads(m[k])
    return m


UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0, "h": 3600000.0}


def ms(v):
    mm = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", v)
    return float(mm.group(1)) * UNIT[mm.group(2)] if mm else None


def read_wrk(path):
    t = open(path, encoding="utf-8").read()
    r = {"raw": t}
    mm = re.search(r"Requests/sec:\s*([\d.]+)", t)
    r["rps"] = float(mm.group(1)) if mm else None
    for p in ("50", "75", "90", "99"):
        mm = re.search(rf"^\s*{p}%\s+(\S+)", t, re.M)
        r[f"p{p}_ms"] = ms(mm.group(1)) if mm else None
    mm = re.search(r"(\d+) requests in ([\d.]+\w+)", t)
    r["requests"] = int(mm.group(1)) if mm else None
    mm = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", t)
    r["non2xx"] = int(mm.group(1)) if mm else 0
    mm = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", t)
    r["socket_errors"] = sum(int(v) for v in mm.groups()) if mm else 0
    return r


def mb(v, unit="kb"):
    if v in (None, ""):
        return None
    x = float(v)
    return x / 1024 if unit == "kb" else x / 1048576


def fnum(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def f(v, fmt="{:.1f}", none="–"):
    return none if v is None else fmt.format(v)


class Scale:
    """One scale's measurements."""

    def __init__(self, sdir):
        self.dir = sdir
        self.m = read_metrics(os.path.join(sdir, "metrics.env"))
        self.k = int(self.m["scale"])
        self.n = int(self.m["records"])
        self.servers = self.m.get("servers", "").split()
        self.lat = json.load(open(os.path.join(sdir, "latency.json"), encoding="utf-8"))
        self.wrk, self.peak = {}, {}
        for s in self.servers:
            self.wrk[s] = [read_wrk(p) for p in sorted(glob.glob(os.path.join(sdir, f"wrk-{s}-r*.txt")), key=round_of)]
            self.peak[s] = [json.load(open(p)) for p in sorted(glob.glob(os.path.join(sdir, f"mem-peak-{s}-r*.json")), key=round_of)]

    def rps(self, s):
        v = [w["rps"] for w in self.wrk.get(s, []) if w["rps"] is not None]
        return statistics.median(v) if v else None

    def rps_all(self, s):
        return [w["rps"] for w in self.wrk.get(s, []) if w["rps"] is not None]

    def median_wrk(self, s):
        """The wrk run whose throughput is the median (for its latency percentiles)."""
        runs = [w for w in self.wrk.get(s, []) if w["rps"] is not None]
        if not runs:
            return None
        return sorted(runs, key=lambda w: w["rps"])[(len(runs) - 1) // 2]

    def lat_of(self, s):
        return self.lat["servers"].get(s, {}).get("overall")

    def imp(self, s, what):
        return self.m.get(f"import_{s}_{what}")

    def has(self, s):
        return s in self.servers


def round_of(path):
    mm = re.search(r"-r(\d+)\.\w+$", path)
    return int(mm.group(1)) if mm else 0


def cpu_phase(m, key0, key1, own_procs=(), own_extra=0.0):
    """(wall s, machine busy cores, the servers' cores, the client's cores, other work's cores) for
    a phase, from the cpu_* snapshots: own_procs are the snapshot-key pairs whose process ticks are ours."""
    a, b = m.get(key0), m.get(key1)
    if not isinstance(a, dict) or not isinstance(b, dict):
        return None
    hz = a["hz"]
    wall = b["t"] - a["t"]
    if wall <= 0:
        return None
    busy = (b["busy"] - a["busy"]) / hz
    srv = 0.0
    for k0, k1 in own_procs:
        p0, p1 = (m.get(k0) or {}).get("proc"), (m.get(k1) or {}).get("proc")
        if p0 is not None and p1 is not None:
            srv += (p1 - p0) / hz
    own = srv + own_extra
    return wall, busy / wall, srv / wall, own_extra / wall, max(0.0, busy - own) / wall


def scale_table(sc, m0):
    """(header, rows) of one scale's side-by-side table."""
    cols = [s for s in ("wxlib", "base", "ceiling", "zebra") if sc.has(s)]
    conns, dur, thr, wr = m0["conns"], m0["duration"], m0["threads"], m0["wrk_rounds"]
    m = sc.m
    L = {s: sc.lat_of(s) for s in cols}
    R = {s: sc.rps(s) for s in cols}
    W = {s: sc.median_wrk(s) for s in cols}
    zebra_note = m.get("zebra_index_wall", "")

    def per(fn):
        return [fn(s) for s in cols]

    def imported(s):
        if s == "ceiling":
            return f"{sc.n:,} (wxlib's index)"
        if s == "zebra":
            line = m.get("zebra_idx_line") or ""
            return f"{sc.n:,}" + (f" ({int(line.split()[1]):,} indexed)" if line else "")
        added, skipped = sc.imp(s, "added"), sc.imp(s, "skipped")
        return f"{sc.n:,}" + (f" ({int(added):,} imported, {skipped} skipped)" if added and skipped not in (None, "", "0") else "")

    def import_wall(s):
        if s == "ceiling":
            return "–"
        if s == "zebra":
            zw = fnum(zebra_note)
            return f"{zw:.1f} s (yaz-marcdump + zebraidx)" if zw is not None else zebra_note
        w = fnum(sc.imp(s, "wall"))
        return f"{f(w)} s (database {f(fnum(sc.imp(s, 'db_s')))} s + index {f(fnum(sc.imp(s, 'index_s')))} s)"

    def rate(s):
        w = fnum(zebra_note) if s == "zebra" else fnum(sc.imp(s, "wall")) if s != "ceiling" else None
        return f"{sc.n / w:,.0f}" if w else "–"

    def imp_rss(s):
        if s == "ceiling":
            return "–"
        if s == "zebra":
            v = m.get("zebra_index_maxrss_kb")
            return f"{mb(v):.0f} MB (largest process)" if v else "–"
        v = sc.imp(s, "maxrss_kb")
        return f"{mb(v):.0f} MB" if v else "–"

    def disk(s):
        if s == "ceiling":
            return "wxlib's index"
        if s == "zebra":
            return f"{mb(m.get('zebra_reg_bytes'), 'b'):.0f} MB register" if m.get("zebra_reg_bytes") else "–"
        return f"{mb(m.get(f'{s}_db_bytes'), 'b'):.0f} MB database + {mb(m.get(f'{s}_index_bytes'), 'b'):.0f} MB index"

    def lat(key, fmt="{:.2f} ms"):
        return lambda s: fmt.format(L[s][key]) if L[s] and L[s].get(key) is not None else "–"

    def thru(s):
        if R[s] is None:
            return "–"
        every = sc.rps_all(s)
        return f"{R[s]:,.0f} req/s" + (f" ({', '.join(f'{v:,.0f}' for v in every)})" if len(every) > 1 else "")

    def loadlat(s):
        w = W[s]
        return f"{f(w['p50_ms'], '{:.2f}')} / {f(w['p99_ms'], '{:.2f}')} ms" if w else "–"

    def errs(s):
        runs = sc.wrk.get(s, [])
        return f"{sum(w['non2xx'] for w in runs)} / {sum(w['socket_errors'] for w in runs)}" if runs else "–"

    def mem(key, label=""):
        def g(s):
            v = m.get(f"{s}_mem_{key}")
            if not isinstance(v, dict):
                return "–"
            if s == "zebra" and key == "after":
                return f"{mb(v['rss_kb']):.0f} MB ({v['procs']} process(es) left)"
            return f"{mb(v['rss_kb']):.0f} MB"
        return g

    def peak(s):
        if s == "zebra":
            p = sc.peak.get(s) or []
            if not p:
                return "–"
            pss = max(x["peak_tree_pss_kb"] for x in p)
            rss = max(x["peak_tree_rss_kb"] for x in p)
            procs = max(x["peak_procs"] for x in p)
            return f"{mb(pss):.0f} MB PSS summed over up to {procs} processes (RSS sum {mb(rss):.0f} MB counts shared pages repeatedly)"
        v = m.get(f"{s}_mem_after")
        return f"{mb(v['hwm_kb']):.0f} MB (VmHWM)" if isinstance(v, dict) else "–"

    def same(s):
        d = sc.lat.get("same_as_wxlib", {}).get(s)
        if s == "wxlib":
            return "(reference)"
        if not d:
            return "–"
        txt = f"same total {d['same_total']}/{d['queries']}, same ids {d['same_ids']}/{d['queries']}"
        if "same_id_set" in d and d["same_id_set"] != d["same_ids"]:
            txt += f" ({d['same_id_set']} in any order)"
        return txt

    n_lat = (L.get("wxlib") or {}).get("n")
    rows = [
        ("records", per(imported)),
        ("import / indexing wall time", per(import_wall)),
        ("records/s (whole import)", per(rate)),
        ("peak RSS while importing", per(imp_rss)),
        ("on disk", per(disk)),
        (f"search p50, 1 client ({n_lat} requests)", per(lat("p50_ms"))),
        ("search p99, 1 client", per(lat("p99_ms"))),
        ("search mean / max, 1 client", per(lambda s: f"{L[s]['mean_ms']:.2f} / {L[s]['max_ms']:.1f} ms" if L[s] else "–")),
        (f"throughput, {conns} connections (wrk -t{thr}, {dur} s; median of {wr})", per(thru)),
        (f"latency p50 / p99 at {conns} connections", per(loadlat)),
        ("non-2xx / socket errors under load", per(errs)),
        ("server memory peak", per(peak)),
        ("server memory after the load (VmRSS)", per(mem("after"))),
        ("server memory idle, before any search", per(mem("idle"))),
    ]
    if sc.has("ceiling") or sc.has("base"):
        rows.append(("answers (first round) vs wxlib's", per(same)))

    # the comparisons, as extra columns
    cmp_cols = []
    if sc.has("ceiling"):
        cmp_cols.append(("wxlib ÷ ceiling", "ceiling"))
    if sc.has("base"):
        cmp_cols.append(("wxlib ÷ wxlib@base", "base"))
    if sc.has("zebra"):
        cmp_cols.append(("wxlib vs Zebra", "zebra"))

    def comparison(row, other):
        w, o = None, None
        if row.startswith("throughput"):
            w, o = R.get("wxlib"), R.get(other)
            return f"**{w / o:.2f}×**" if other == "ceiling" and w and o else (f"{w / o:.2f}×" if w and o else "")
        if row.startswith("search p50") or row.startswith("search p99"):
            key = "p50_ms" if "p50" in row else "p99_ms"
            w, o = (L.get("wxlib") or {}).get(key), (L.get(other) or {}).get(key)
            if not (w and o):
                return ""
            return f"{o / w:.1f}× lower" if other == "zebra" else f"{w / o:.2f}× the time"
        if row.startswith("import / indexing") and other in ("base", "zebra"):
            w = fnum(sc.imp("wxlib", "wall"))
            o = fnum(zebra_note) if other == "zebra" else fnum(sc.imp("base", "wall"))
            if not (w and o):
                return ""
            return f"{o / w:.1f}× faster" if other == "zebra" else f"{w / o:.2f}× the time"
        if row.startswith("peak RSS while importing") and other == "base":
            w, o = fnum(sc.imp("wxlib", "maxrss_kb")), fnum(sc.imp("base", "maxrss_kb"))
            return f"{w / o:.2f}×" if w and o else ""
        if row == "server memory peak" and other in ("base", "ceiling"):
            a, b = m.get("wxlib_mem_after"), m.get(f"{other}_mem_after")
            if isinstance(a, dict) and isinstance(b, dict) and b["hwm_kb"]:
                return f"{a['hwm_kb'] / b['hwm_kb']:.2f}×"
        return ""

    header = [""] + [LABEL[s] for s in cols] + [c for c, _ in cmp_cols]
    out_rows = [[name] + vals + [comparison(name, o) for _, o in cmp_cols] for name, vals in rows]
    return header, out_rows


def md_table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def growth_table(scales):
    """wxlib's figures per scale, each with its factor over the first scale's."""

    def v(sc):
        mem = sc.m.get("wxlib_mem_after")
        lat = sc.lat_of("wxlib") or {}
        return {
            "wall": fnum(sc.imp("wxlib", "wall")), "db_s": fnum(sc.imp("wxlib", "db_s")), "idx_s": fnum(sc.imp("wxlib", "index_s")),
            "rss": mb(sc.imp("wxlib", "maxrss_kb")), "db": mb(sc.m.get("wxlib_db_bytes"), "b"),
            "idx": mb(sc.m.get("wxlib_index_bytes"), "b"), "p50": lat.get("p50_ms"), "p99": lat.get("p99_ms"),
            "rps": sc.rps("wxlib"), "ceil": sc.rps("ceiling"), "hwm": mb(mem["hwm_kb"]) if isinstance(mem, dict) else None,
            "zebra": sc.rps("zebra"),
        }

    header = ["records", "import = database + index", "import peak RSS", "database + index", "p50 / p99, 1 client",
              "wxlib req/s", "ceiling req/s", "wxlib ÷ ceiling", "serving peak (VmHWM)", "Zebra req/s"]
    first = v(scales[0])
    rows = []
    for i, sc in enumerate(scales):
        x = v(sc)

        def g(key, fmt):
            if x[key] is None:
                return "–"
            return fmt.format(x[key]) + (f" ({x[key] / first[key]:.1f}×)" if i > 0 and first[key] else "")

        frac = x["rps"] / x["ceil"] if x["rps"] and x["ceil"] else None
        rows.append([
            f"{sc.n:,} (×{sc.k})",
            f"{f(x['wall'])} s = {f(x['db_s'])} + {f(x['idx_s'])}" + (f" ({x['wall'] / first['wall']:.1f}×)" if i > 0 and x["wall"] and first["wall"] else ""),
            g("rss", "{:.0f} MB"),
            g("db", "{:.0f}") + " + " + g("idx", "{:.0f} MB"),
            f"{f(x['p50'], '{:.2f}')} / " + g("p99", "{:.2f} ms"),
            g("rps", "{:,.0f}"),
            g("ceil", "{:,.0f}"),
            f(frac, "{:.2f}×"),
            g("hwm", "{:.0f} MB"),
            f(x["zebra"], "{:,.0f}") if x["zebra"] else "not run",
        ])
    return header, rows


def targets(sc, full):
    """Issue 17's targets for the scale, as (text, verdict) lines; none for a quick run."""
    if not full or sc.k not in (1, 10):
        return []
    L = sc.lat_of("wxlib") or {}
    wall = fnum(sc.imp("wxlib", "wall"))
    rss = mb(sc.imp("wxlib", "maxrss_kb"))
    mem = sc.m.get("wxlib_mem_after")
    hwm = mb(mem["hwm_kb"]) if isinstance(mem, dict) else None
    rps, ceil, zeb = sc.rps("wxlib"), sc.rps("ceiling"), sc.rps("zebra")
    p99 = L.get("p99_ms")

    def t(ok, text):
        return ("met" if ok else "**missed**") + f": {text}"

    out = []
    if sc.k == 1:
        out.append(("import of 250,000 records ≤ 15 s", t(wall is not None and wall <= 15,
                    f"{f(wall)} s (database {f(fnum(sc.imp('wxlib', 'db_s')))} s + index {f(fnum(sc.imp('wxlib', 'index_s')))} s)")))
        if ceil:
            out.append(("search throughput ≥ 0.5× the ceiling's (same run)", t(rps is not None and rps / ceil >= 0.5,
                        f"{rps / ceil:.2f}× ({rps:,.0f} vs {ceil:,.0f} req/s)")))
        out.append(("single-client p99 < 1 ms", t(p99 is not None and p99 < 1, f"{f(p99, '{:.2f}')} ms")))
        out.append(("serving RSS ≤ 150 MB", t(hwm is not None and hwm <= 150, f"peak {f(hwm, '{:.0f}')} MB (VmHWM after the load)")))
        if zeb:
            out.append(("throughput ≥ 10× Zebra's (the earlier target)", t(rps / zeb >= 10, f"{rps / zeb:.1f}× ({rps:,.0f} vs {zeb:,.0f} req/s)")))
    else:
        out.append(("import of 2.5 million records ≤ 3 min", t(wall is not None and wall <= 180, f"{f(wall)} s")))
        out.append(("import peak RSS ≤ 1 GB", t(rss is not None and rss <= 1024, f"{f(rss, '{:.0f}')} MB")))
        out.append(("single-client p99 < 5 ms", t(p99 is not None and p99 < 5, f"{f(p99, '{:.2f}')} ms")))
        out.append(("throughput and memory (stated)", f"{f(rps, '{:,.0f}')} req/s"
                    + (f" ({rps / ceil:.2f}× the ceiling's {ceil:,.0f})" if rps and ceil else "")
                    + f", serving peak {f(hwm, '{:.0f}')} MB"))
    return out


def cpu_lines(sc):
    m = sc.m
    phases = []
    for s in ("wxlib", "base"):
        extra = (fnum(sc.imp(s, "user")) or 0) + (fnum(sc.imp(s, "sys")) or 0)
        ph = cpu_phase(m, f"cpu_import_{s}_0", f"cpu_import_{s}_1", own_extra=extra)
        if ph:
            phases.append((f"import {SHORT[s]}", ph, ("", "import")))
    ph = cpu_phase(m, "cpu_latency_0", "cpu_latency_1",
                   [(f"cpu_latency_{s}_0", f"cpu_latency_{s}_1") for s in sc.servers], fnum(m.get("latency_client_cpu_s")) or 0)
    if ph:
        phases.append(("single-client latency", ph, ("servers", "client")))
    for s in sc.servers:
        rounds = sorted({int(k.split("_r")[1].split("_")[0]) for k in m if k.startswith(f"cpu_wrk_{s}_r")})
        acc = []
        for r in rounds:
            ph = cpu_phase(m, f"cpu_wrk_{s}_r{r}_0", f"cpu_wrk_{s}_r{r}_1", [(f"cpu_wrk_{s}_r{r}_0", f"cpu_wrk_{s}_r{r}_1")],
                           fnum(m.get(f"wrk_{s}_r{r}_client_cpu_s")) or 0)
            if ph:
                acc.append(ph)
        if acc:
            mean = tuple(sum(x[i] for x in acc) / len(acc) for i in range(5))
            phases.append((f"wrk on {SHORT[s]}" + (f" (mean of {len(acc)})" if len(acc) > 1 else ""), mean, (SHORT[s], "wrk")))

    def one(name, ph, who):
        _, busy, srv, cli, other = ph
        parts = ([f"{srv:.2f} {who[0]}"] if who[0] else []) + [f"{cli:.2f} {who[1]}"]
        return f"{name}: {busy:.2f} busy = {' + '.join(parts)} + **{other:.2f} other work**"

    return "; ".join(one(*p) for p in phases)


def per_kind_table(sc):
    cols = [s for s in ("wxlib", "base", "ceiling", "zebra") if sc.has(s)]
    names = " / ".join(SHORT[s] for s in cols)
    lat = sc.lat
    ag = lat.get("agreement")
    header = ["query type", "n", f"p50 {names} (ms)", f"p99 {names} (ms)", "median hits wxlib" + (" / Zebra" if ag else "")]
    if ag:
        header += ["agree 0 vs >0", "only wxlib", "only Zebra"]
    rows = []
    kinds = sorted(lat["servers"]["wxlib"]["per_kind"])
    for k in kinds:
        pk = {s: lat["servers"][s]["per_kind"][k] for s in cols}
        nq = sum(1 for h in lat["hits"] if h["kind"] == k)
        hits_w = statistics.median([h["wxlib"] or 0 for h in lat["hits"] if h["kind"] == k])
        row = [k, str(nq), " / ".join(f(pk[s]["p50_ms"], "{:.2f}") for s in cols), " / ".join(f(pk[s]["p99_ms"], "{:.2f}") for s in cols)]
        if ag:
            hz = ag["median_hits_per_kind"][k]
            c = ag["per_kind"][k]
            row += [f"{hits_w:g} / {hz['zebra']:g}", str(c["both_zero"] + c["both_some"]), str(c["only_wxlib"]), str(c["only_zebra"])]
        else:
            row.append(f"{hits_w:g}")
        rows.append(row)
    return md_table(header, rows)


WHY_HITS_DIFFER = (
    "Why the hit counts differ (checked on this data): wxlib ASCII-folds and stems words (English stemmer), "
    "Zebra's ICU chain (traditional→simplified, lower-case, no stemming) matches the word as typed, so wxlib "
    "finds more for inflected or foreign words (`informal` also matches Spanish *informe*, `reale` matches "
    "*real*). Zebra's `cql.anywhere` indexes every MARC field including notes (504 \"Includes bibliographical "
    "references\"); wxlib's `any` is title, names, subjects, publisher, place, edition, ISBN and call numbers. "
    "ICU word breaking keeps elisions whole (`L'arte`, `d'Oujon` are one word), so Zebra finds neither "
    "`arte imperfetta` nor `oujon` in the titles that contain them. Response bodies differ too: wxlib answers "
    "JSON summaries (title, authors, year, call number, availability) read from its database, the ceiling "
    "ids and scores from the index alone, Zebra 10 Dublin Core records rendered by XSLT.")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--benchmarks", default="no")
    a = ap.parse_args()
    m0 = read_metrics(os.path.join(a.run, "metrics.env"))
    scales = sorted((Scale(d) for d in glob.glob(os.path.join(a.run, "x*")) if os.path.exists(os.path.join(d, "latency.json"))),
                    key=lambda s: s.k)
    if not scales:
        sys.exit(f"no measured scale in {a.run}")
    base_n = scales[0].n // scales[0].k
    full = base_n >= LC_RECORDS

    core = []
    core.append(f"Date {m0['date']}. Machine: {m0['machine']}. wxlib: {m0['wxlib_rev']} (binary built {m0['wxlib_bin_mtime']})"
                + (f"; wxlib@base: `{m0['base_bin']}` (built {m0['base_bin_mtime']})" if m0.get("base_bin") else "")
                + f"; ceiling built {m0.get('ceiling_bin_mtime', '?')}.")
    core.append("")
    core.append(f"Command: `{m0['cmd']}` — {base_n:,} records ({m0.get('records_source', 'BooksAll.2016.part01.utf8')}) "
                f"at scale{'s' if len(scales) > 1 else ''} {', '.join('×' + str(s.k) for s in scales)} "
                f"(copy i re-keyed to `<001>-c<i>`, nothing else changed); {scales[0].lat['queries']} queries from `tests/data/queries.tsv`, "
                f"1 warm-up + {m0['rounds']} measured rounds; wrk -t{m0['threads']} -c{m0['conns']} -d{m0['duration']}s, "
                f"{m0['wrk_rounds']} round(s) over every server (median). Logs: `{m0['run_dir']}/`.")
    core.append("")
    core.append("The ceiling is the search crate alone (`bench/catalog/ceiling`: tantivy + jieba behind axum with wxlib's "
                "features, runtime and allocator, on the index wxlib's import built, the same parameters and query); it "
                "answers each hit's id and score as JSON, since the index stores no titles. wxlib ÷ ceiling is the "
                "fraction of the engine's limit wxlib's search keeps.")
    if m0.get("base_bin"):
        core.append("")
        core.append("wxlib@base is the --base-bin binary with its own import of the same records. Its pages are compared "
                    "with wxlib's id by id and as sets: each import lays out its segments differently, and hits with equal "
                    "scores (a record and its re-keyed copies always tie) come in document order, so a page can differ in "
                    "order, or at its edge in members, without any change in ranking.")
    if not full:
        core.append("")
        core.append(f"**Quick run on {base_n:,} records per copy: the targets are for 250,000 and 2.5 million and are not judged here.**")
    tables_stdout = []
    for sc in scales:
        header, rows = scale_table(sc, m0)
        core.append("")
        core.append(f"### {sc.n:,} records (×{sc.k})")
        core.append("")
        core += md_table(header, rows)
        tg = targets(sc, full)
        if tg:
            core.append("")
            core.append("Targets (issue 17):")
            core.append("")
            core += [f"- {t}: {v}" for t, v in tg]
        if "zebra" not in sc.servers:
            core.append("")
            core.append(f"Zebra at this scale: {sc.m.get('zebra_index_wall', 'not run')}.")
        tables_stdout.append((sc, header, rows, tg))
    if len(scales) > 1:
        gh, gr = growth_table(scales)
        core.append("")
        core.append(f"### Growth from {scales[0].n:,} records (wxlib; × = factor over the first scale)")
        core.append("")
        core += md_table(gh, gr)

    detail = []
    for sc in scales:
        m = sc.m
        detail.append("")
        detail.append(f"### Details at {sc.n:,} records (×{sc.k})")
        detail.append("")
        loads = "; ".join(f"{k[5:].replace('_', ' ')} {v}" for k, v in m.items() if k.startswith("load_"))
        settles = "; ".join(f"{k[7:]}: waited {v}" for k, v in m.items() if k.startswith("settle_"))
        detail.append(f"Load average (1/5/15 min): {loads}." + (f" Settling: {settles}." if settles else ""))
        cpu = cpu_lines(sc)
        if cpu:
            detail.append("")
            detail.append(f"CPU in cores (of {os.cpu_count()}) per phase, from /proc/stat and the processes' own CPU time: {cpu}.")
        ag = sc.lat.get("agreement")
        if ag:
            o = ag["overall"]
            detail.append("")
            detail.append(f"Hits (first round, page size 10): wxlib and Zebra agree on zero vs some hits for "
                          f"{o['both_zero'] + o['both_some']} of {sc.lat['queries']} queries (both some {o['both_some']}, "
                          f"both zero {o['both_zero']}); only wxlib finds something for {o['only_wxlib']}, only Zebra for "
                          f"{o['only_zebra']}; errors {o['error']}.")
        detail.append("")
        detail += per_kind_table(sc)
        for s, d in sc.lat.get("same_as_wxlib", {}).items():
            if d["differences"]:
                detail.append("")
                detail.append(f"Queries where {SHORT[s]} answers differently from wxlib (total, or the page's ids): " + "; ".join(
                    f"{x['kind']} `{x['text']}` {x['wxlib']} vs {x[s]}{'' if x['same_ids'] else ', other ids'}" for x in d["differences"][:20]))
        if ag:
            for title, key in (("Queries where one finds hits and the other none", "disagreements"),
                               ("Both find hits, but the counts are 5× or more apart", "hit_count_5x_apart")):
                if ag[key]:
                    detail.append("")
                    detail.append(f"{title}: " + "; ".join(f"{d['kind']} `{d['text']}` wxlib {d['wxlib']}, Zebra {d['zebra']}" for d in ag[key]))
        for s in sc.servers:
            srv = sc.lat["servers"][s]
            detail.append("")
            detail.append(f"Slowest queries on {SHORT[s]} (median of the rounds): " + "; ".join(
                f"{x['kind']} `{x['text']}` {x['median_ms']:.2f} ms ({x['hits']} hits)" for x in srv["slowest"]))
            if srv["errors"]:
                detail.append(f"Errors on {SHORT[s]}: " + "; ".join(f"{k}: {v}" for k, v in list(srv["errors"].items())[:10]))
        for s in ("wxlib", "base"):
            if sc.imp(s, "total_line"):
                detail.append("")
                detail.append(f"{SHORT[s]} import output: `{sc.imp(s, 'total_line')}`; `{sc.imp(s, 'index_line')}`. "
                              f"CPU: user {sc.imp(s, 'user')} s, sys {sc.imp(s, 'sys')} s.")
        if m.get("zebra_idx_line"):
            detail.append(f"Zebra: `{m['zebra_idx_line']}`.")
        for s in sc.servers:
            w = sc.median_wrk(s)
            if w:
                detail.append("")
                detail.append(f"wrk on {SHORT[s]} (the median round):")
                detail.append("```")
                detail.append(w["raw"].rstrip())
                detail.append("```")
    if any(sc.lat.get("agreement") for sc in scales):
        detail.append("")
        detail.append(WHY_HITS_DIFFER)

    # ---------------------------------------------------------------- stdout
    for sc, header, rows, tg in tables_stdout:
        print(f"\n{sc.n:,} records (×{sc.k})")
        widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
        widths = widths[:1] + [min(w, 46) for w in widths[1:]]
        for r in [header] + rows:
            print("  ".join(f"{str(c)[:widths[i]]:{widths[i]}}" for i, c in enumerate(r)).replace("**", ""))
        for t, v in tg:
            print(f"{t}: {v.replace('**', '')}")
    if len(scales) > 1:
        print(f"\ngrowth from {scales[0].n:,} records:")
        gh, gr = growth_table(scales)
        print("  " + " | ".join(gh))
        for r in gr:
            print("  " + " | ".join(r))

    name = f"results-{m0['date']}" + ("" if full else f"-{base_n}rec") + ".md"
    os.makedirs(os.path.join(a.root, "bench", "catalog"), exist_ok=True)
    res = os.path.join(a.root, "bench", "catalog", name)
    core_txt = "\n".join(core)
    with open(res, "w", encoding="utf-8") as fh:
        fh.write(f"# bench/catalog results, {m0['date']}\n\n{core_txt}\n" + "\n".join(detail) + "\n")
    print(f"\nwrote {os.path.relpath(res, a.root)}")

    if a.benchmarks == "yes":
        bm = os.path.join(a.root, "BENCHMARKS.md")
        section = (f"{SECTION}\n\n"
                   "Import time, peak memory and size, search latency (one client), throughput (32 connections) and memory of "
                   "wxlib's catalog on the 250,000 Library of Congress records and on re-keyed copies of them (1 and 2.5 "
                   "million), side by side in one run with the engine alone (the ceiling) and Zebra serving the same "
                   "records over SRU (`tests/peers/zebra`). wxlib and the ceiling are asked "
                   "`/api/v1/search?q=…&field=…&page_size=10` (`:zh2`/`:2w`/`:zero` variants use their base field; "
                   "`title+author` goes to field `any` with both words), Zebra the query set's CQL with "
                   "`maximumRecords=10&recordSchema=dc`. Run: `bench/catalog/run.sh --scales 1,4,10` (`--records N` for a "
                   f"quick run). Full details: [`bench/catalog/{name}`](bench/catalog/{name}).\n\n{core_txt}\n")
        old = open(bm, encoding="utf-8").read() if os.path.exists(bm) else "# Benchmarks\n"
        lines = old.split("\n")
        start = next((i for i, line in enumerate(lines) if line.strip() == SECTION), None)
        if start is None:
            new = old.rstrip("\n") + "\n\n" + section
        else:
            end = next((j for j in range(start + 1, len(lines)) if lines[j].startswith("## ")), len(lines))
            rest = "\n".join(lines[end:])
            new = "\n".join(lines[:start]).rstrip("\n") + "\n\n" + section + ("\n" + rest if rest.strip() else "")
            if start == 0:
                new = new.lstrip("\n")
        with open(bm, "w", encoding="utf-8") as fh:
            fh.write(new)
        print(f"updated the section \"{SECTION[3:]}\" in BENCHMARKS.md")


if __name__ == "__main__":
    sys.exit(main())
