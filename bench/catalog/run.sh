#!/usr/bin/env bash
# bench/catalog: the catalog at one or more catalog sizes, side by side in one run with
#   wxlib      `wxlib serve` on what `wxlib import` built (database + search index)
#   wxlib@base another wxlib binary (--base-bin), imported and served the same way: before/after
#   ceiling    the engine alone: the search crate (tantivy + jieba) behind axum, no database, no
#              availability, no middleware, on wxlib's index (bench/catalog/ceiling; its answer is
#              the engine's: ids and scores, the index stores no titles)
#   Zebra      Zebra 2.2.7 over SRU on the same records (tests/peers/zebra), at the scales it is
#              asked for (--zebra-scales) and within --zebra-timeout
# The records are the 250,000 real Library of Congress records (BooksAll.2016.part01.utf8 from the
# pymarc 5.4.0 source package, see tests/data/README.md); scale K is K copies of them, copy i with
# each record's 001 re-keyed to `<001>-c<i>` and nothing else changed (rekey.py), so the term
# statistics stay real: --scales 1,4,10 is 250k, 1M and 2.5M records.
# Per scale:
#   import   `wxlib import` into a fresh data dir under /usr/bin/time -v: wall time, records/s, peak
#            RSS; its "total: … in X s" (database) and "search index: … in Y s" (index) lines;
#            database and index size (du). Zebra's indexing (zebra-up.sh) is timed too.
#   latency  one client (Python http.client, keep-alive), the 205 queries of tests/data/queries.tsv,
#            a warm-up round then ROUNDS rounds, every server in turn round by round: p50/p99/mean;
#            whether wxlib and Zebra both find 0 or >0 hits, and whether wxlib, its base and the
#            ceiling return the same totals and ids (latency.py).
#   load     wrk -tT -cC --latency cycling through the same queries, every server in turn, WRK_ROUNDS
#            times (the report takes each server's median); ceiling and wxlib with the same settings
#            one after the other, so wxlib ÷ ceiling is the fraction of the engine's limit.
#   memory   VmRSS/VmHWM of each server idle, after the load and its peak during wrk (Zebra's
#            process tree: zebrasrv forks a child per connection).
# Results: a table per scale and the growth from the first scale on stdout,
# bench/catalog/results-<date>[-<N>rec].md, and (full runs) the section
# "Catalog: import and search (bench/catalog)" of BENCHMARKS.md.
#
# Usage: bench/catalog/run.sh [--records N] [--scales 1,4,10] [options]
#   --records N          the first N records as scale 1 (quick run); default: all 250,000
#   --scales LIST        catalog sizes as multiples of those records, comma-separated (default 1);
#   --scale K            the same as --scales K
#   --zebra-scales LIST  the scales Zebra is indexed and served at (default 1,4), if they are in --scales;
#                        `none` for no Zebra
#   --zebra-timeout S    give up Zebra's indexing at a scale after S seconds (default 3600) and say so
#   --rounds R           measured latency rounds over the query set (default 5, after 1 warm-up)
#   --duration S         seconds per wrk run (default 20)
#   --wrk-rounds R       wrk passes over every server (default 3; the report takes the median)
#   --conns C            wrk connections (default 32)    --threads T   wrk threads (default 2)
#   --settle S           before each import and each scale's search measurements, wait up to S seconds
#                        for the 1-minute load average to fall below --quiet (default 1.0); default 0
#   --bin PATH           the wxlib binary to measure (default: target/release/wxlib, built first)
#   --base-bin PATH      also measure this wxlib binary (`wxlib@base`: its own import, latency and load)
#   --ceiling-bin PATH   the ceiling binary (default: built from bench/catalog/ceiling, release, into
#                        CEILING_TARGET, default the workspace's target dir, so wxlib's compiled
#                        dependencies are reused)
#   --skip-build         build nothing: target/release/wxlib (or --bin) and the ceiling as they are
#   --reuse-zebra        reuse the Zebra register indexed by an earlier run on the same records and
#                        scale (its indexing time is then not measured)
#   --keep-data          keep each scale's wxlib data dirs (default: removed when the scale is done,
#                        a 2.5M-record import is several GB)
#   --update-benchmarks  write BENCHMARKS.md also for a --records run (full runs always do)
#   --no-benchmarks      never touch BENCHMARKS.md
# Everything downloaded or generated goes to bench/catalog/cache/ (git-ignored): the pymarc sdist,
# the record files (records-<N|all>-x<K>.mrc), Zebra's work dirs, and each run's logs in
# cache/run-<time>/ (one subdirectory x<K>/ per scale).
#
# The full measurement of issue 17 (250k, 1M, 2.5M; Zebra at 250k and 1M), on a quiet machine:
#   bench/catalog/run.sh --scales 1,4,10 --settle 600 --quiet 1.5
# and before/after a change (the previous binary copied aside first, e.g. cp target/release/wxlib /tmp/wxlib-base):
#   bench/catalog/run.sh --scales 1,4,10 --base-bin /tmp/wxlib-base --settle 600 --quiet 1.5
# A quick check: bench/catalog/run.sh --records 20000 --scales 1,2 --rounds 1 --duration 3 --wrk-rounds 1
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
QUERIES="$ROOT/tests/data/queries.tsv"
CACHE="$HERE/cache"
RECORDS=0 SCALES=1 ZEBRA_SCALES=1,4 ZEBRA_TIMEOUT=3600 ROUNDS=5 DURATION=20 WRK_ROUNDS=3 CONNS=32 THREADS=2 SETTLE=0 QUIET=1.0
SKIP_BUILD="" REUSE_ZEBRA="" KEEP_DATA="" BENCH_MD=auto WXLIB="" BASE_BIN="" CEILING=""
CEILING_TARGET="${CEILING_TARGET:-$ROOT/target}"
CMDLINE="bench/catalog/run.sh${*:+ $*}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --records) RECORDS="$2"; shift 2 ;;
    --scales|--scale) SCALES="$2"; shift 2 ;;
    --zebra-scales) ZEBRA_SCALES="$2"; shift 2 ;;
    --zebra-timeout) ZEBRA_TIMEOUT="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    --duration) DURATION="$2"; shift 2 ;;
    --wrk-rounds) WRK_ROUNDS="$2"; shift 2 ;;
    --conns) CONNS="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --settle) SETTLE="$2"; shift 2 ;;
    --quiet) QUIET="$2"; shift 2 ;;
    --bin) WXLIB="$(realpath "$2")"; shift 2 ;;
    --base-bin) BASE_BIN="$(realpath "$2")"; shift 2 ;;
    --ceiling-bin) CEILING="$(realpath "$2")"; shift 2 ;;
    --skip-build) SKIP_BUILD=1; shift ;;
    --reuse-zebra) REUSE_ZEBRA=1; shift ;;
    --keep-data) KEEP_DATA=1; shift ;;
    --update-benchmarks) BENCH_MD=yes; shift ;;
    --no-benchmarks) BENCH_MD=no; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
SCALES="${SCALES//,/ }"
ZEBRA_SCALES=" ${ZEBRA_SCALES//,/ } "
for k in $SCALES; do [[ "$k" =~ ^[1-9][0-9]*$ ]] || { echo "--scales: $k is not a positive whole number" >&2; exit 2; }; done
[[ -z "$BASE_BIN" || -x "$BASE_BIN" ]] || { echo "--base-bin $BASE_BIN is not an executable" >&2; exit 2; }

log() { printf '\n== [%s load %s] %s\n' "$(date +%H:%M:%S)" "$(cut -d' ' -f1-3 /proc/loadavg)" "$*" >&2; }

mkdir -p "$CACHE"
RUN="$CACHE/run-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$RUN"
METRICS="$RUN/metrics.env"   # this run's; each scale writes its own in $RUN/x<K>/
: >"$METRICS"
put() { printf '%s=%s\n' "$1" "$2" >>"$METRICS"; }
load1() { cut -d' ' -f1 /proc/loadavg; }
mark_load() { put "load_$1" "$(cut -d' ' -f1-3 /proc/loadavg)"; }
# CPU accounting per phase: machine busy ticks (/proc/stat) and a process's own (+ reaped children's)
# ticks, so the report can tell how much of the 2 cores other work on the machine took meanwhile
cpu_snap() { put "cpu_$1" "$(python3 "$HERE/procmem.py" cpu ${2:-})"; }

# ---------------------------------------------------------------- servers always stopped
SERVER_PIDS=() ZEBRA_WORK="" WATCH_PID=""
stop_pid() {
  local p="$1"
  if [[ -n "$p" ]] && kill -0 "$p" 2>/dev/null; then
    kill -TERM "$p" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  fi
}
stop_zebra() {
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
  ZEBRA_WORK=""
}
stop_servers() {
  local p
  for p in "${SERVER_PIDS[@]}"; do stop_pid "$p"; done
  SERVER_PIDS=()
  stop_zebra
}
cleanup() {
  [[ -n "$WATCH_PID" ]] && kill "$WATCH_PID" 2>/dev/null || true
  stop_servers
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

wall_s() { awk -F': ' '/Elapsed \(wall clock\)/{n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$1"; }

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
MRC1="$CACHE/records-$TAG.mrc"
if [[ ! -s "$MRC1" ]]; then
  if [[ "$TAG" == all ]]; then
    ln -sf "$LC" "$MRC1"
  else
    log "taking the first $RECORDS records"
    python3 - "$LC" "$RECORDS" "$MRC1" <<'EOF'
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

if [[ "$TAG" == all ]]; then put records_source "BooksAll.2016.part01.utf8"; else put records_source "the first $RECORDS of BooksAll.2016.part01.utf8"; fi

# ---------------------------------------------------------------- 2. build
if [[ -z "$WXLIB" ]]; then
  WXLIB="$ROOT/target/release/wxlib"
  if [[ -z "$SKIP_BUILD" ]]; then
    log "building wxlib (release)"
    (cd "$ROOT" && cargo build --release -q -p wxlib)
  fi
  put wxlib_rev "$(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- crates Cargo.toml Cargo.lock || echo ' + uncommitted changes')"
else
  put wxlib_rev "$WXLIB"
fi
[[ -x "$WXLIB" ]] || { echo "no wxlib binary at $WXLIB" >&2; exit 1; }
put wxlib_bin_mtime "$(date -r "$WXLIB" '+%F %T')"
if [[ -n "$BASE_BIN" ]]; then
  put base_bin "$BASE_BIN"
  put base_bin_mtime "$(date -r "$BASE_BIN" '+%F %T')"
fi
if [[ -z "$CEILING" ]]; then
  CEILING="$CEILING_TARGET/release/wxlib-bench-catalog-ceiling"
  if [[ -z "$SKIP_BUILD" ]]; then
    log "building the ceiling (release, CARGO_TARGET_DIR=$CEILING_TARGET)"
    CARGO_TARGET_DIR="$CEILING_TARGET" cargo build --release -q --manifest-path "$HERE/ceiling/Cargo.toml"
  fi
fi
[[ -x "$CEILING" ]] || { echo "no ceiling binary at $CEILING (build it: CARGO_TARGET_DIR=$CEILING_TARGET cargo build --release --manifest-path bench/catalog/ceiling/Cargo.toml)" >&2; exit 1; }
put ceiling_bin_mtime "$(date -r "$CEILING" '+%F %T')"

python3 "$HERE/queries.py" lua "$QUERIES" "$RUN" >/dev/null

# ---------------------------------------------------------------- one scale
# server names: wxlib, base (wxlib@base), ceiling, zebra; NAMES/URLS/PIDS in the same order
import_one() { # name binary data_dir conf mrc records
  local name="$1" bin="$2" data="$3" conf="$4" mrc="$5" nrec="$6"
  cat >"$conf" <<EOF
# bench/catalog: a fresh data dir per run; serve gets its port from WXLIB_SERVER__LISTEN.
[server]
listen = "127.0.0.1:0"
data_dir = "$data"

[wechat]
app_id = "wx1234567890abcdef"
app_secret = "bench-secret"
token = "libtoken"
# no outbound calls in this bench
api_base = "http://127.0.0.1:9"
EOF
  settle "import_$name"
  log "$name import: $nrec records"
  mark_load "import_${name}_start"
  cpu_snap "import_${name}_0"
  /usr/bin/time -v -o "$SDIR/import-$name.time" "$bin" import --config "$conf" "$mrc" >"$SDIR/import-$name.log" 2>&1 ||
    { tail -20 "$SDIR/import-$name.log" >&2; exit 1; }
  cpu_snap "import_${name}_1"
  mark_load "import_${name}_end"
  grep -E '^(total|search index)' "$SDIR/import-$name.log" >&2 || true
  put "import_${name}_wall" "$(wall_s "$SDIR/import-$name.time")"
  put "import_${name}_user" "$(awk -F': ' '/User time/{print $2}' "$SDIR/import-$name.time")"
  put "import_${name}_sys" "$(awk -F': ' '/System time/{print $2}' "$SDIR/import-$name.time")"
  put "import_${name}_maxrss_kb" "$(awk -F': ' '/Maximum resident set size/{print $2}' "$SDIR/import-$name.time")"
  put "import_${name}_total_line" "$(grep '^total:' "$SDIR/import-$name.log" || true)"
  put "import_${name}_db_s" "$(sed -nE 's/^total:.* in ([0-9.]+) s.*/\1/p' "$SDIR/import-$name.log")"
  put "import_${name}_added" "$(sed -nE 's/^total: read [0-9]+, added ([0-9]+).*/\1/p' "$SDIR/import-$name.log")"
  put "import_${name}_skipped" "$(sed -nE 's/^total:.* skipped ([0-9]+).*/\1/p' "$SDIR/import-$name.log")"
  put "import_${name}_index_line" "$(grep '^search index' "$SDIR/import-$name.log" || true)"
  put "import_${name}_index_s" "$(sed -nE 's/^search index: .* in ([0-9.]+) s.*/\1/p' "$SDIR/import-$name.log")"
  put "${name}_db_bytes" "$(du -cb "$data"/wxlib.db* | tail -1 | cut -f1)"
  put "${name}_index_bytes" "$(du -sb "$data/index" | cut -f1)"
}

start_wxlib() { # name binary conf
  local name="$1" bin="$2" conf="$3" port pid
  port="$(free_port)"
  log "$name serve on port $port"
  RUST_LOG=warn WXLIB_SERVER__LISTEN="127.0.0.1:$port" "$bin" serve --config "$conf" >"$SDIR/$name-serve.log" 2>&1 &
  pid=$!
  SERVER_PIDS+=("$pid")
  wait_healthy "$name" "$pid" "http://127.0.0.1:$port"
  NAMES+=("$name"); URLS+=("http://127.0.0.1:$port"); PIDS+=("$pid")
}

wait_healthy() { # name pid url
  for _ in $(seq 3000); do  # a large catalog may take a while to open
    kill -0 "$2" 2>/dev/null || { echo "$1 exited:" >&2; tail -20 "$SDIR/$1-serve.log" >&2; exit 1; }
    curl -fsS -o /dev/null "$3/healthz" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "$1 did not answer /healthz at $3" >&2; exit 1
}

run_scale() { # K
  local k="$1" mrc nrec
  SDIR="$RUN/x$k"; mkdir -p "$SDIR"
  METRICS="$SDIR/metrics.env"; : >"$METRICS"
  put scale "$k"
  if [[ "$k" -eq 1 ]]; then
    mrc="$MRC1"
  else
    mrc="$CACHE/records-$TAG-x$k.mrc"
    if [[ ! -s "$mrc" ]]; then
      log "making $k re-keyed copies of $(basename "$MRC1") -> $(basename "$mrc")"
      python3 "$HERE/rekey.py" "$(readlink -f "$MRC1")" "$k" "$mrc" >"$SDIR/rekey.json"
      cat "$SDIR/rekey.json" >&2
    fi
  fi
  nrec="$(python3 -c '
import sys
n = 0
with open(sys.argv[1], "rb") as f:
    for chunk in iter(lambda: f.read(8 << 20), b""):
        n += chunk.count(b"\x1d")
print(n)' "$mrc")"
  put records "$nrec"
  put records_file "$(basename "$mrc") ($(basename "$(readlink -f "$MRC1")") × $k)"
  put records_bytes "$(stat -L -c %s "$mrc")"

  # ------------------------------------------------ import(s)
  import_one wxlib "$WXLIB" "$SDIR/wxlib-data" "$SDIR/wxlib.toml" "$mrc" "$nrec"
  if [[ -n "$BASE_BIN" ]]; then import_one base "$BASE_BIN" "$SDIR/base-data" "$SDIR/base.toml" "$mrc" "$nrec"; fi

  # ------------------------------------------------ Zebra on the same records
  local zebra=""
  if [[ "$ZEBRA_SCALES" == *" $k "* ]]; then
    local zdata="$CACHE/zebra-data-$TAG-x$k" zport
    ZEBRA_WORK="$CACHE/zebra-$TAG-x$k"
    zport="$(free_port)"
    mkdir -p "$zdata"
    ln -sf "$(readlink -f "$mrc")" "$zdata/records.mrc"
    if [[ -n "$REUSE_ZEBRA" && -f "$ZEBRA_WORK/indexed-ok" ]]; then
      log "Zebra: reusing the register in $ZEBRA_WORK (port $zport)"
      put zebra_index_wall "not measured (--reuse-zebra)"
      (cd "$ZEBRA_WORK" &&
        sed -i -E "s#tcp:127.0.0.1:[0-9]+#tcp:127.0.0.1:$zport#; s#<port>[0-9]+</port>#<port>$zport</port>#" yazgfs.xml &&
        zebrasrv -f yazgfs.xml -l zebrasrv.log -p zebrasrv.pid -D)
      for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$zport/Default?operation=explain&version=1.2" && break; sleep 0.1; done
      zebra=1
    else
      settle zebra_index
      log "Zebra: indexing $nrec records (at most $ZEBRA_TIMEOUT s) and starting zebrasrv on port $zport (zebra-up.sh)"
      mark_load zebra_start
      rm -f "$ZEBRA_WORK/indexed-ok"
      local t0 rc=0; t0=$(date +%s.%N)
      # timeout signals its whole process group: zebra-up.sh, yaz-marcdump and zebraidx
      timeout "$ZEBRA_TIMEOUT" /usr/bin/time -v -o "$SDIR/zebra.time" "$ROOT/tests/peers/zebra/zebra-up.sh" "$zdata" "$ZEBRA_WORK" "$zport" \
        >"$SDIR/zebra-up.log" 2>&1 || rc=$?
      mark_load zebra_end
      if [[ $rc -eq 124 ]]; then
        log "Zebra: indexing did not finish within $ZEBRA_TIMEOUT s; no Zebra at this scale"
        put zebra_index_wall "did not finish within $ZEBRA_TIMEOUT s"
        stop_zebra
        rm -rf "$CACHE/zebra-$TAG-x$k"
      elif [[ $rc -ne 0 ]]; then
        tail -20 "$SDIR/zebra-up.log" >&2; exit 1
      else
        put zebra_index_wall "$(python3 -c "import time,sys; print(round(time.time()-float(sys.argv[1]),1))" "$t0")"
        put zebra_index_maxrss_kb "$(awk -F': ' '/Maximum resident set size/{print $2}' "$SDIR/zebra.time")"
        cat "$SDIR/zebra-up.log" >&2
        touch "$ZEBRA_WORK/indexed-ok"
        zebra=1
      fi
    fi
    if [[ -n "$zebra" ]]; then
      put zebra_idx_line "$(grep -o 'Records: [0-9]* i/u/d.*' "$ZEBRA_WORK/idx.log" | tail -1)"
      put zebra_reg_bytes "$(du -sb "$ZEBRA_WORK/reg" | cut -f1)"
      curl -sf -o /dev/null "http://127.0.0.1:$zport/Default?operation=explain&version=1.2" || { echo "Zebra is not answering" >&2; exit 1; }
    fi
  else
    put zebra_index_wall "not run at this scale (--zebra-scales)"
  fi

  # ------------------------------------------------ the servers
  NAMES=() URLS=() PIDS=()
  local port pid
  port="$(free_port)"
  log "ceiling on port $port (the index of wxlib's import)"
  "$CEILING" "$SDIR/wxlib-data/index" "127.0.0.1:$port" >"$SDIR/ceiling-serve.log" 2>&1 &
  pid=$!
  SERVER_PIDS+=("$pid")
  wait_healthy ceiling "$pid" "http://127.0.0.1:$port"
  NAMES+=(ceiling); URLS+=("http://127.0.0.1:$port"); PIDS+=("$pid")
  start_wxlib wxlib "$WXLIB" "$SDIR/wxlib.toml"
  if [[ -n "$BASE_BIN" ]]; then start_wxlib base "$BASE_BIN" "$SDIR/base.toml"; fi
  if [[ -n "$zebra" ]]; then
    NAMES+=(zebra); URLS+=("http://127.0.0.1:$zport"); PIDS+=("$(cat "$ZEBRA_WORK/zebrasrv.pid")")
  fi
  put servers "${NAMES[*]}"
  local i
  for i in "${!NAMES[@]}"; do put "${NAMES[$i]}_mem_idle" "$(python3 "$HERE/procmem.py" now "${PIDS[$i]}")"; done

  # ------------------------------------------------ latency, one client
  settle search
  log "latency: 1 warm-up + $ROUNDS rounds over the query set, one client, ${NAMES[*]} in turn"
  mark_load latency_start
  local args=()
  for i in "${!NAMES[@]}"; do args+=(--server "${NAMES[$i]}=${URLS[$i]}"); cpu_snap "latency_${NAMES[$i]}_0" "${PIDS[$i]}"; done
  cpu_snap latency_0
  (cd "$HERE" && /usr/bin/time -f '%U %S' -o "$SDIR/latency-client.time" python3 latency.py "${args[@]}" \
    --tsv "$QUERIES" --rounds "$ROUNDS" --warmup 1 --out "$SDIR/latency.json")
  sleep 0.5  # Zebra reaps the single client's child process
  cpu_snap latency_1
  for i in "${!NAMES[@]}"; do cpu_snap "latency_${NAMES[$i]}_1" "${PIDS[$i]}"; done
  put latency_client_cpu_s "$(awk '{print $1 + $2}' "$SDIR/latency-client.time")"
  mark_load latency_end

  # ------------------------------------------------ throughput and memory
  local r s url lua
  for r in $(seq "$WRK_ROUNDS"); do
    for i in "${!NAMES[@]}"; do
      s="${NAMES[$i]}"; url="${URLS[$i]}"; pid="${PIDS[$i]}"
      lua="$RUN/queries-wxlib.lua"; [[ $s == zebra ]] && lua="$RUN/queries-zebra.lua"
      log "wrk $s (round $r/$WRK_ROUNDS): -t$THREADS -c$CONNS -d${DURATION}s"
      mark_load "wrk_${s}_r${r}_start"
      python3 "$HERE/procmem.py" watch "$pid" "$SDIR/mem-peak-$s-r$r.json" &
      WATCH_PID=$!
      cpu_snap "wrk_${s}_r${r}_0" "$pid"
      /usr/bin/time -f '%U %S' -o "$SDIR/wrk-$s-r$r.time" \
        wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --timeout 10s --latency -s "$lua" "$url" | tee "$SDIR/wrk-$s-r$r.txt" >&2
      sleep 0.5  # Zebra reaps its per-connection children
      cpu_snap "wrk_${s}_r${r}_1" "$pid"
      put "wrk_${s}_r${r}_client_cpu_s" "$(awk '{print $1 + $2}' "$SDIR/wrk-$s-r$r.time")"
      kill -TERM "$WATCH_PID"; wait "$WATCH_PID" 2>/dev/null || true; WATCH_PID=""
      mark_load "wrk_${s}_r${r}_end"
      sleep 2
    done
  done
  for i in "${!NAMES[@]}"; do
    put "${NAMES[$i]}_mem_after" "$(python3 "$HERE/procmem.py" now "${PIDS[$i]}")"
    if [[ -f "$SDIR/${NAMES[$i]}-serve.log" ]]; then
      put "${NAMES[$i]}_log_errors" "$(grep -ci 'error\|panic' "$SDIR/${NAMES[$i]}-serve.log" || true)"
    fi
  done
  stop_servers
  if [[ -z "$KEEP_DATA" ]]; then rm -rf "$SDIR/wxlib-data" "$SDIR/base-data"; fi
  METRICS="$RUN/metrics.env"
}

for k in $SCALES; do run_scale "$k"; done

# ---------------------------------------------------------------- report
put date "$(date +%F)"
put machine "$(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), $(awk '/MemTotal/{printf "%.1f GiB RAM", $2/1048576}' /proc/meminfo), $(uname -sr)"
put cmd "$CMDLINE"
put scales "$SCALES"
put rounds "$ROUNDS"; put duration "$DURATION"; put wrk_rounds "$WRK_ROUNDS"; put conns "$CONNS"; put threads "$THREADS"
put run_dir "${RUN#"$ROOT"/}"
if [[ "$BENCH_MD" == auto ]]; then [[ "$TAG" == all ]] && BENCH_MD=yes || BENCH_MD=no; fi
python3 "$HERE/report.py" --run "$RUN" --benchmarks "$BENCH_MD" --root "$ROOT"
