#!/usr/bin/env bash
# bench/catalog: the catalog side by side with Zebra, in one run, on the 250,000 real Library of
# Congress records (BooksAll.2016.part01.utf8 from the pymarc 5.4.0 source package, see
# tests/data/README.md):
#   import   `wxlib import` into a fresh data dir under /usr/bin/time -v: wall time, records/s, peak
#            RSS; its own "total: … in X s" (database) and "search index: … in Y s" (index) lines;
#            database and index size (du). Zebra's indexing (zebra-up.sh) is timed too.
#   latency  one client (Python http.client, keep-alive), the 205 queries of tests/data/queries.tsv,
#            a warm-up round then ROUNDS rounds, wxlib's /api/v1/search and Zebra's SRU alternating
#            round by round: p50/p99/mean, and whether both find 0 or >0 hits (latency.py).
#   load     wrk -t2 -c32 --latency cycling through the same queries (queries-<server>.lua).
#   memory   VmRSS/VmHWM of `wxlib serve` after the load; Zebra's process tree (zebrasrv forks a
#            child per connection), and the peak of each during wrk.
# Results: a table on stdout, bench/catalog/results-<date>.md, and (full runs) the section
# "Catalog: import and search (bench/catalog)" of BENCHMARKS.md.
#
# Usage: bench/catalog/run.sh [--records N] [options]
#   --records N          use the first N records (quick run); default: all 250,000
#   --rounds R           measured latency rounds over the query set (default 5, after 1 warm-up)
#   --duration S         seconds per wrk run (default 20)
#   --conns C            wrk connections (default 32)    --threads T   wrk threads (default 2)
#   --settle S           before the import and before the search measurements, wait up to S seconds
#                        for the 1-minute load average to fall below --quiet (default 1.0); default 0
#   --skip-build         use target/release/wxlib as it is
#   --reuse-zebra        reuse a Zebra register indexed by an earlier run on the same records
#                        (its indexing time is then not measured)
#   --update-benchmarks  write BENCHMARKS.md also for a --records run (full runs always do)
#   --no-benchmarks      never touch BENCHMARKS.md
# Everything downloaded or generated goes to bench/catalog/cache/ (git-ignored): the pymarc sdist,
# the record files, Zebra's work dirs, and each run's logs in cache/run-<time>/.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
QUERIES="$ROOT/tests/data/queries.tsv"
CACHE="$HERE/cache"
RECORDS=0 ROUNDS=5 DURATION=20 CONNS=32 THREADS=2 SETTLE=0 QUIET=1.0
SKIP_BUILD="" REUSE_ZEBRA="" BENCH_MD=auto
CMDLINE="bench/catalog/run.sh${*:+ $*}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --records) RECORDS="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    --duration) DURATION="$2"; shift 2 ;;
    --conns) CONNS="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --settle) SETTLE="$2"; shift 2 ;;
    --quiet) QUIET="$2"; shift 2 ;;
    --skip-build) SKIP_BUILD=1; shift ;;
    --reuse-zebra) REUSE_ZEBRA=1; shift ;;
    --update-benchmarks) BENCH_MD=yes; shift ;;
    --no-benchmarks) BENCH_MD=no; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

log() { printf '\n== [%s load %s] %s\n' "$(date +%H:%M:%S)" "$(cut -d' ' -f1-3 /proc/loadavg)" "$*" >&2; }

mkdir -p "$CACHE"
RUN="$CACHE/run-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$RUN"
METRICS="$RUN/metrics.env"
: >"$METRICS"
put() { printf '%s=%s\n' "$1" "$2" >>"$METRICS"; }
load1() { cut -d' ' -f1 /proc/loadavg; }
mark_load() { put "load_$1" "$(cut -d' ' -f1-3 /proc/loadavg)"; }
# CPU accounting per phase: machine busy ticks (/proc/stat) and a process's own (+ reaped children's)
# ticks, so the report can tell how much of the 2 cores other work on the machine took meanwhile
cpu_snap() { put "cpu_$1" "$(python3 "$HERE/procmem.py" cpu ${2:-})"; }

# ---------------------------------------------------------------- servers always stopped
WXLIB_PID="" ZEBRA_WORK="" WATCH_PID=""
cleanup() {
  [[ -n "$WATCH_PID" ]] && kill "$WATCH_PID" 2>/dev/null || true
  if [[ -n "$WXLIB_PID" ]] && kill -0 "$WXLIB_PID" 2>/dev/null; then
    kill -TERM "$WXLIB_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$WXLIB_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$WXLIB_PID" 2>/dev/null || true
  fi
  if [[ -n "$ZEBRA_WORK" && -f "$ZEBRA_WORK/zebrasrv.pid" ]]; then
    local zp; zp="$(cat "$ZEBRA_WORK/zebrasrv.pid")"
    if [[ -n "$zp" ]] && kill -0 "$zp" 2>/dev/null; then
      # the daemon's children (one per connection) first, then the daemon
      for c in $(ps -o pid= --ppid "$zp" 2>/dev/null); do kill -TERM "$c" 2>/dev/null || true; done
      kill -TERM "$zp" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$zp" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$zp" 2>/dev/null || true
    fi
    rm -f "$ZEBRA_WORK/zebrasrv.pid"
  fi
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

settle() { # what
  [[ "$SETTLE" -gt 0 ]] || return 0
  local waited=0
  while awk -v l="$(load1)" -v q="$QUIET" 'BEGIN{exit !(l>=q)}' && [[ $waited -lt $SETTLE ]]; do
    [[ $((waited % 60)) -eq 0 ]] && log "waiting for load < $QUIET before $1 ($waited/$SETTLE s)"
    sleep 10; waited=$((waited + 10))
  done
  put "settle_$1" "$waited s, load $(cut -d' ' -f1-3 /proc/loadavg)"
}

# ---------------------------------------------------------------- 1. what the bench needs
need_pkgs=()
command -v yaz-marcdump >/dev/null || need_pkgs+=(yaz)
command -v zebraidx >/dev/null && command -v zebrasrv >/dev/null || need_pkgs+=(idzebra-2.0)
command -v wrk >/dev/null || need_pkgs+=(wrk)
[[ -x /usr/bin/time ]] || need_pkgs+=(time)
if [[ ${#need_pkgs[@]} -gt 0 ]]; then
  log "installing ${need_pkgs[*]}"
  apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${need_pkgs[@]}" >"$RUN/apt.log" 2>&1 ||
    { apt-get -o DPkg::Lock::Timeout=600 update >>"$RUN/apt.log" 2>&1 &&
      apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${need_pkgs[@]}" >>"$RUN/apt.log" 2>&1; } ||
    { tail -20 "$RUN/apt.log" >&2; exit 1; }
fi

LC="$CACHE/pymarc-5.4.0/BooksAll.2016.part01.utf8"
if [[ ! -s "$LC" ]]; then
  if [[ ! -s "$CACHE/pymarc-5.4.0.tar.gz" ]]; then
    log "downloading the pymarc 5.4.0 source package (the 250,000 LC records)"
    pip download -q --no-deps --no-binary :all: pymarc==5.4.0 -d "$CACHE"
  fi
  tar -xzf "$CACHE/pymarc-5.4.0.tar.gz" -C "$CACHE" pymarc-5.4.0/BooksAll.2016.part01.utf8
fi

TAG="all"; [[ "$RECORDS" -gt 0 ]] && TAG="$RECORDS"
MRC="$CACHE/records-$TAG.mrc"
if [[ ! -s "$MRC" ]]; then
  if [[ "$TAG" == all ]]; then
    ln -sf "$LC" "$MRC"
  else
    log "taking the first $RECORDS records"
    python3 - "$LC" "$RECORDS" "$MRC" <<'EOF'
import sys
src, n, dst = sys.argv[1], int(sys.argv[2]), sys.argv[3]
data = open(src, "rb").read()
pos = 0
for _ in range(n):
    end = data.find(b"\x1d", pos)
    if end < 0:
        break
    pos = end + 1
open(dst, "wb").write(data[:pos])
EOF
  fi
fi
NREC="$(python3 -c 'import sys; print(open(sys.argv[1],"rb").read().count(b"\x1d"))' "$MRC")"
put records "$NREC"
put records_file "$(basename "$(readlink -f "$MRC")")"
put records_bytes "$(stat -L -c %s "$MRC")"

# ---------------------------------------------------------------- 2. build
WXLIB="$ROOT/target/release/wxlib"
if [[ -z "$SKIP_BUILD" ]]; then
  log "building wxlib (release)"
  (cd "$ROOT" && cargo build --release -q -p wxlib)
fi
put wxlib_rev "$(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- crates Cargo.toml Cargo.lock || echo ' + uncommitted changes')"
put wxlib_bin_mtime "$(date -r "$WXLIB" '+%F %T')"

# ---------------------------------------------------------------- 3. import
DATA="$RUN/wxlib-data"
CONF="$RUN/wxlib.toml"
cat >"$CONF" <<EOF
# bench/catalog: a fresh data dir per run; serve gets its port from WXLIB_SERVER__LISTEN.
[server]
listen = "127.0.0.1:0"
data_dir = "$DATA"

[wechat]
app_id = "wx1234567890abcdef"
app_secret = "bench-secret"
token = "libtoken"
# no outbound calls in this bench
api_base = "http://127.0.0.1:9"
EOF
settle import
log "wxlib import: $NREC records"
mark_load import_start
cpu_snap import_0
/usr/bin/time -v -o "$RUN/import.time" "$WXLIB" import --config "$CONF" "$MRC" >"$RUN/import.log" 2>&1 ||
  { tail -20 "$RUN/import.log" >&2; exit 1; }
cpu_snap import_1
mark_load import_end
grep -E '^(total|search index)' "$RUN/import.log" >&2
put import_wall "$(awk -F': ' '/Elapsed \(wall clock\)/{n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$RUN/import.time")"
put import_user "$(awk -F': ' '/User time/{print $2}' "$RUN/import.time")"
put import_sys "$(awk -F': ' '/System time/{print $2}' "$RUN/import.time")"
put import_maxrss_kb "$(awk -F': ' '/Maximum resident set size/{print $2}' "$RUN/import.time")"
put import_total_line "$(grep '^total:' "$RUN/import.log")"
put import_db_s "$(sed -nE 's/^total:.* in ([0-9.]+) s.*/\1/p' "$RUN/import.log")"
put import_added "$(sed -nE 's/^total: read [0-9]+, added ([0-9]+).*/\1/p' "$RUN/import.log")"
put import_skipped "$(sed -nE 's/^total:.* skipped ([0-9]+).*/\1/p' "$RUN/import.log")"
put import_index_line "$(grep '^search index' "$RUN/import.log")"
put import_index_s "$(sed -nE 's/^search index: .* in ([0-9.]+) s.*/\1/p' "$RUN/import.log")"
put db_bytes "$(du -cb "$DATA"/wxlib.db* | tail -1 | cut -f1)"
put index_bytes "$(du -sb "$DATA/index" | cut -f1)"

# ---------------------------------------------------------------- 4. Zebra on the same records
ZEBRA_DATA="$CACHE/zebra-data-$TAG"
ZEBRA_WORK="$CACHE/zebra-$TAG"
ZPORT="$(free_port)"
mkdir -p "$ZEBRA_DATA"
ln -sf "$(readlink -f "$MRC")" "$ZEBRA_DATA/records.mrc"
if [[ -n "$REUSE_ZEBRA" && -f "$ZEBRA_WORK/indexed-ok" ]]; then
  log "Zebra: reusing the register in $ZEBRA_WORK (port $ZPORT)"
  put zebra_index_wall "not measured (--reuse-zebra)"
  (cd "$ZEBRA_WORK" &&
    sed -i -E "s#tcp:127.0.0.1:[0-9]+#tcp:127.0.0.1:$ZPORT#; s#<port>[0-9]+</port>#<port>$ZPORT</port>#" yazgfs.xml &&
    zebrasrv -f yazgfs.xml -l zebrasrv.log -p zebrasrv.pid -D)
  for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$ZPORT/Default?operation=explain&version=1.2" && break; sleep 0.1; done
else
  settle zebra_index
  log "Zebra: indexing $NREC records and starting zebrasrv on port $ZPORT (zebra-up.sh)"
  mark_load zebra_start
  rm -f "$ZEBRA_WORK/indexed-ok"
  t0=$(date +%s.%N)
  /usr/bin/time -v -o "$RUN/zebra.time" "$ROOT/tests/peers/zebra/zebra-up.sh" "$ZEBRA_DATA" "$ZEBRA_WORK" "$ZPORT" >"$RUN/zebra-up.log" 2>&1 ||
    { tail -20 "$RUN/zebra-up.log" >&2; exit 1; }
  put zebra_index_wall "$(python3 -c "import time,sys; print(round(time.time()-float(sys.argv[1]),1))" "$t0")"
  mark_load zebra_end
  put zebra_index_maxrss_kb "$(awk -F': ' '/Maximum resident set size/{print $2}' "$RUN/zebra.time")"
  cat "$RUN/zebra-up.log" >&2
  touch "$ZEBRA_WORK/indexed-ok"
fi
put zebra_idx_line "$(grep -o 'Records: [0-9]* i/u/d.*' "$ZEBRA_WORK/idx.log" | tail -1)"
put zebra_reg_bytes "$(du -sb "$ZEBRA_WORK/reg" | cut -f1)"
ZPID="$(cat "$ZEBRA_WORK/zebrasrv.pid")"
curl -sf -o /dev/null "http://127.0.0.1:$ZPORT/Default?operation=explain&version=1.2" || { echo "Zebra is not answering" >&2; exit 1; }

# ---------------------------------------------------------------- wxlib serve
WPORT="$(free_port)"
log "wxlib serve on port $WPORT"
RUST_LOG=warn WXLIB_SERVER__LISTEN="127.0.0.1:$WPORT" "$WXLIB" serve --config "$CONF" >"$RUN/wxlib-serve.log" 2>&1 &
WXLIB_PID=$!
for _ in $(seq 600); do
  kill -0 "$WXLIB_PID" 2>/dev/null || { echo "wxlib serve exited:" >&2; tail -20 "$RUN/wxlib-serve.log" >&2; exit 1; }
  curl -fsS -o /dev/null "http://127.0.0.1:$WPORT/healthz" 2>/dev/null && break
  sleep 0.1
done
put wxlib_mem_idle "$(python3 "$HERE/procmem.py" now "$WXLIB_PID")"
put zebra_mem_idle "$(python3 "$HERE/procmem.py" now "$ZPID")"

# ---------------------------------------------------------------- 5. latency, one client
python3 "$HERE/queries.py" lua "$QUERIES" "$RUN" >/dev/null
settle search
log "latency: 1 warm-up + $ROUNDS rounds over the query set, one client, wxlib and Zebra alternating"
mark_load latency_start
cpu_snap latency_wxlib_0 "$WXLIB_PID"; cpu_snap latency_zebra_0 "$ZPID"
(cd "$HERE" && /usr/bin/time -f '%U %S' -o "$RUN/latency-client.time" python3 latency.py --wxlib "http://127.0.0.1:$WPORT" --zebra "http://127.0.0.1:$ZPORT" \
  --tsv "$QUERIES" --rounds "$ROUNDS" --warmup 1 --out "$RUN/latency.json")
sleep 0.5  # Zebra reaps the single client's child process
cpu_snap latency_wxlib_1 "$WXLIB_PID"; cpu_snap latency_zebra_1 "$ZPID"
put latency_client_cpu_s "$(awk '{print $1 + $2}' "$RUN/latency-client.time")"
mark_load latency_end

# ---------------------------------------------------------------- 6. throughput, 7. memory
for s in wxlib zebra; do
  if [[ $s == wxlib ]]; then url="http://127.0.0.1:$WPORT"; pid=$WXLIB_PID; else url="http://127.0.0.1:$ZPORT"; pid=$ZPID; fi
  log "wrk $s: -t$THREADS -c$CONNS -d${DURATION}s"
  mark_load "wrk_${s}_start"
  python3 "$HERE/procmem.py" watch "$pid" "$RUN/mem-peak-$s.json" &
  WATCH_PID=$!
  cpu_snap "wrk_${s}_0" "$pid"
  /usr/bin/time -f '%U %S' -o "$RUN/wrk-$s.time" \
    wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --timeout 10s --latency -s "$RUN/queries-$s.lua" "$url" | tee "$RUN/wrk-$s.txt" >&2
  sleep 0.5  # Zebra reaps its per-connection children
  cpu_snap "wrk_${s}_1" "$pid"
  put "wrk_${s}_client_cpu_s" "$(awk '{print $1 + $2}' "$RUN/wrk-$s.time")"
  kill -TERM "$WATCH_PID"; wait "$WATCH_PID" 2>/dev/null || true; WATCH_PID=""
  mark_load "wrk_${s}_end"
  sleep 2
done
put wxlib_mem_after "$(python3 "$HERE/procmem.py" now "$WXLIB_PID")"
put zebra_mem_after "$(python3 "$HERE/procmem.py" now "$ZPID")"
grep -ci 'error\|panic' "$RUN/wxlib-serve.log" | sed 's/^/wxlib_log_errors=/' >>"$METRICS" || true

# ---------------------------------------------------------------- 8. report
put date "$(date +%F)"
put machine "$(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), $(awk '/MemTotal/{printf "%.1f GiB RAM", $2/1048576}' /proc/meminfo), $(uname -sr)"
put cmd "$CMDLINE"
put rounds "$ROUNDS"; put duration "$DURATION"; put conns "$CONNS"; put threads "$THREADS"
put run_dir "${RUN#"$ROOT"/}"
if [[ "$BENCH_MD" == auto ]]; then [[ "$TAG" == all ]] && BENCH_MD=yes || BENCH_MD=no; fi
python3 "$HERE/report.py" --run "$RUN" --benchmarks "$BENCH_MD" --root "$ROOT"
