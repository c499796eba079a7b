#!/usr/bin/env bash
# bench/callback: the WeChat safe-mode callback round trip, side by side in one run:
#   ceiling   a bare axum 0.8 handler that reads the body and answers `success` (bench/callback/ceiling)
#   wxlib-help `wxlib serve` (release), SQLite in a fresh data dir, dedupe + event log on, RUST_LOG=warn;
#             every text is 帮助 (help), answered with a fixed text: the front door's round trip, the
#             like-for-like of the peers, and the row the targets are judged on (report.py)
#   wxlib     the same server with titles/authors/keywords: each text is also searched in the
#             catalog and logged (what a search costs on top of the round trip); the catalog is
#             empty, so every search finds nothing
#   wxlib-catalog  the same with a real catalog (CATALOG_MARC, imported before the run) and words
#             that find records in it (中国, 经济, 香港…): the search ranks hits and the reply lists a page
#   gunicorn  Flask + wechatpy 1.8.18 under gunicorn (sync workers, -w 2 and -w 4), echo reply
#   NAME@base  with WXLIB_BIN_BASE or WXLIB_BASE_REV: every wxlib variant above run again with the
#             base binary right after it, in the same run (before/after a change)
# Each server gets thousands of distinct encrypted text messages made by wechatpy exactly as WeChat
# sends them (gen_messages.py, generated fresh right before each wxlib run), replayed with wrk.
# Two load shapes by default: wrk with one thread and with two threads, on the same 2 cores as the
# server (the second takes more of the machine from the server; issue 17 item 5).
#
# Usage: bench/callback/run.sh
# Knobs (environment):
#   DURATION=15      seconds per wrk run            CONNS="32 8"    wrk connections, one pass each
#   COUNT=200000     messages generated per run     THREADS="1 2"   wrk threads: one pass per load shape
#   WORKERS="2 4"    gunicorn worker counts          SERVERS="ceiling wxlib wxlib-help gunicorn"
#                    (add wxlib-catalog for searches that find records in a real catalog)
#   CATALOG_MARC=$ROOT/tests/data/marc/lc-books2016-zh-4000.mrc   what wxlib-catalog imports
#   ROUNDS=3         passes over every server, one after the other; the report takes each server's
#                    median (a VM's speed drifts by 10 % or more within minutes)
#   SETTLE=90        after building, wait up to this many seconds for the 1-min load average to drop below 1
#   SKIP_BUILD=1     use the binaries already built  OUT=DIR        logs and raw output (bench/out/...)
#   WXLIB_REV=HEAD   benchmark a committed revision instead of the working tree (git archive into
#                    target/bench-src/, built with CARGO_TARGET_DIR=target/bench-rev)
#   WXLIB_BIN=PATH   benchmark this wxlib binary (no build)
#   WXLIB_BIN_BASE=PATH  also benchmark this wxlib binary, as `<variant>@base` beside each wxlib variant
#   WXLIB_BASE_REV=REV   the same with a committed revision, built like WXLIB_REV
# Built revisions are copied to target/bench-bin/wxlib-<rev>, so a run can build two of them (in
# target/bench-rev, sharing its compiled dependencies) and SKIP_BUILD=1 reuses them later.
#
# The measurement of issue 17 item 5 (both load shapes, the ceiling, wxlib-help, wxlib-catalog,
# wechatpy+gunicorn), on a quiet machine:
#   SERVERS="ceiling wxlib-help wxlib-catalog gunicorn" WORKERS=2 CONNS=32 COUNT=1100000 ROUNDS=3 THREADS="1 2" bench/callback/run.sh
# and before/after a change (the binary before it copied aside, or its revision):
#   WXLIB_BIN_BASE=/tmp/wxlib-base SERVERS="ceiling wxlib-help wxlib-catalog gunicorn" WORKERS=2 CONNS=32 COUNT=1100000 ROUNDS=3 bench/callback/run.sh
#   WXLIB_BASE_REV=<commit> ...the same...
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
DURATION="${DURATION:-15}"
CONNS="${CONNS:-32 8}"
COUNT="${COUNT:-200000}"
THREADS="${THREADS:-1 2}"
ROUNDS="${ROUNDS:-3}"
WORKERS="${WORKERS:-2 4}"
SERVERS="${SERVERS:-ceiling wxlib wxlib-help gunicorn}"
CATALOG_MARC="${CATALOG_MARC:-$ROOT/tests/data/marc/lc-books2016-zh-4000.mrc}"
VENV="$ROOT/bench/.venv"
PY="$VENV/bin/python"
CEILING_TARGET="${CEILING_TARGET:-$ROOT/target/bench-ceiling}"
OUT="${OUT:-$ROOT/bench/out/callback-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$OUT"
RESULTS="$OUT/results.tsv"
: >"$RESULTS"

log() { printf '\n== %s\n' "$*" >&2; }

# ---------------------------------------------------------------- servers are always stopped
SERVER_PID=""
stop_server() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}
trap 'stop_server' EXIT
trap 'stop_server; exit 130' INT TERM

# ---------------------------------------------------------------- what the bench needs
install_deps() {
  if ! command -v wrk >/dev/null; then
    log "installing wrk"
    apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
  fi
  if ! "$PY" -c 'import wechatpy, cryptography, flask, gunicorn, xmltodict; assert wechatpy.__version__ == "1.8.18"' 2>/dev/null; then
    log "creating the Python venv at bench/.venv"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q wechatpy==1.8.18 cryptography flask gunicorn xmltodict
  fi
}

# build_rev REV: the release binary of a committed revision (git archive into target/bench-src/,
# built with CARGO_TARGET_DIR=target/bench-rev, copied to target/bench-bin/wxlib-<rev>); prints its path
build_rev() {
  local rev src bin
  rev="$(git -C "$ROOT" rev-parse --short "$1")"
  src="$ROOT/target/bench-src/$rev"
  bin="$ROOT/target/bench-bin/wxlib-$rev"
  if [[ -z "${SKIP_BUILD:-}" || ! -x "$bin" ]]; then
    log "building wxlib at $rev (release) from git archive in $src"
    rm -rf "$src" && mkdir -p "$src" "$ROOT/target/bench-bin"
    git -C "$ROOT" archive "$rev" | tar -x -C "$src"
    (cd "$src" && CARGO_TARGET_DIR="$ROOT/target/bench-rev" cargo build --release -q -p wxlib) >&2
    cp "$ROOT/target/bench-rev/release/wxlib" "$bin"
  fi
  echo "$bin"
}

WXLIB_DESC="working tree"
WXLIB_BASE_DESC=""
build() {
  if [[ -n "${WXLIB_BIN:-}" ]]; then
    WXLIB_DESC="$WXLIB_BIN"
  elif [[ -n "${WXLIB_REV:-}" ]]; then
    WXLIB_BIN="$(build_rev "$WXLIB_REV")"
    WXLIB_DESC="revision $(git -C "$ROOT" rev-parse --short "$WXLIB_REV")"
  else
    WXLIB_BIN="$ROOT/target/release/wxlib"
    WXLIB_DESC="working tree ($(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- crates Cargo.toml Cargo.lock || echo ' + uncommitted changes'))"
    if [[ -z "${SKIP_BUILD:-}" ]]; then
      log "building wxlib (release)"
      (cd "$ROOT" && cargo build --release -q -p wxlib)
    fi
  fi
  if [[ -n "${WXLIB_BIN_BASE:-}" ]]; then
    WXLIB_BASE_DESC="$WXLIB_BIN_BASE"
  elif [[ -n "${WXLIB_BASE_REV:-}" ]]; then
    WXLIB_BIN_BASE="$(build_rev "$WXLIB_BASE_REV")"
    WXLIB_BASE_DESC="revision $(git -C "$ROOT" rev-parse --short "$WXLIB_BASE_REV")"
  fi
  if [[ -n "${WXLIB_BIN_BASE:-}" && ! -x "$WXLIB_BIN_BASE" ]]; then echo "no wxlib binary at $WXLIB_BIN_BASE" >&2; exit 1; fi
  if [[ -n "${SKIP_BUILD:-}" ]]; then return; fi
  log "building the ceiling (release, CARGO_TARGET_DIR=$CEILING_TARGET)"
  CARGO_TARGET_DIR="$CEILING_TARGET" cargo build --release -q --manifest-path "$HERE/ceiling/Cargo.toml"
}

# ---------------------------------------------------------------- one server
wait_healthy() {
  local url="$1"
  for _ in $(seq 200); do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then echo "server exited during startup" >&2; return 1; fi
    if curl -fsS -o /dev/null "$url/healthz" 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  echo "server did not become healthy at $url" >&2
  return 1
}

start_server() { # name port logfile datadir
  local name="$1" port="$2" logf="$3" data="$4"
  case "$name" in
    ceiling)
      "$CEILING_TARGET/release/wxlib-bench-ceiling" "127.0.0.1:$port" >"$logf" 2>&1 &
      ;;
    wxlib|wxlib-help|wxlib-catalog|*@base)
      # /metrics needs server.metrics_token (check.py's); a build older than that key would
      # refuse it as unknown, and serves /metrics without one.
      local token=()
      WXLIB_SERVER__METRICS_TOKEN=bench-callback-metrics-token "$(wxlib_bin "$name")" check-config --config "$HERE/wxlib.toml" >/dev/null 2>&1 \
        && token=(WXLIB_SERVER__METRICS_TOKEN=bench-callback-metrics-token)
      env "${token[@]}" RUST_LOG=warn WXLIB_SERVER__LISTEN="127.0.0.1:$port" WXLIB_SERVER__DATA_DIR="$data" \
        "$(wxlib_bin "$name")" serve --config "$HERE/wxlib.toml" >"$logf" 2>&1 &
      ;;
    gunicorn-w*)
      "$VENV/bin/gunicorn" -w "${name#gunicorn-w}" -k sync -b "127.0.0.1:$port" --chdir "$HERE" \
        --log-level warning gunicorn_app:app >"$logf" 2>&1 &
      ;;
  esac
  SERVER_PID=$!
}

# the binary of a wxlib variant: NAME@base runs the base binary
wxlib_bin() { if [[ "$1" == *@base ]]; then echo "$WXLIB_BIN_BASE"; else echo "$WXLIB_BIN"; fi; }

MSGS="$OUT/messages.txt"
HAVE_MSGS=""

bench_one() { # name conns threads round
  local name="$1" conns="$2" threads="$3" round="$4"
  local variant="${name%@base}"
  local tag="$name-c$conns-t$threads-r$round" port url data expect check metrics_before metrics_after extra=""
  port="$("$PY" "$HERE/check.py" port)"
  url="http://127.0.0.1:$port"
  data="$OUT/$tag-data"
  rm -rf "$data"
  # Fresh messages right before each wxlib run (timestamps within wxlib's 300 s window, and
  # MsgIds never seen by this store); the others do not look at either, so they reuse a file.
  local text=titles
  [[ "$variant" == wxlib-help ]] && text=help
  [[ "$variant" == wxlib-catalog ]] && text=catalog
  if [[ "$name" == wxlib* || "$HAVE_MSGS" != "$text" ]]; then
    log "generating $COUNT messages ($text)"
    (cd "$HERE" && "$PY" gen_messages.py --count "$COUNT" --text "$text" --out "$MSGS")
    HAVE_MSGS="$text"
  fi
  if [[ "$variant" == wxlib-catalog ]]; then
    log "$tag: importing $CATALOG_MARC"
    WXLIB_SERVER__DATA_DIR="$data" "$(wxlib_bin "$name")" import --config "$HERE/wxlib.toml" "$CATALOG_MARC" | tail -2 >&2
  fi
  log "$tag: starting on $url"
  start_server "$name" "$port" "$OUT/$tag.log" "$data"
  wait_healthy "$url"
  case "$name" in
    ceiling) expect=success ;;
    wxlib*) expect=text ;;
    *) expect=echo ;;
  esac
  check="$(cd "$HERE" && "$PY" check.py reply "$url" "$expect" "$text" || true)"
  echo "   check: $check" >&2
  [[ "$name" == wxlib* ]] && metrics_before="$("$PY" "$HERE/check.py" metrics "$url")"
  local load; load="$(cut -d' ' -f1-3 /proc/loadavg)"
  log "$tag: wrk -t$threads -c$conns -d${DURATION}s (load average before: $load)"
  wrk -t"$threads" -c"$conns" -d"${DURATION}s" --timeout 10s --latency -s "$HERE/replay.lua" "$url" \
    -- "$MSGS" "$threads" >"$OUT/$tag.wrk" 2>&1 &
  local wrk_pid=$!
  local other; other="$("$PY" "$HERE/check.py" cpuwatch "$SERVER_PID" "$wrk_pid" || echo '?')"
  wait "$wrk_pid" || true
  echo "   other processes used $other cores during the run" >&2
  load="$load; other $other"
  sed -n '1,/RESULT/p' "$OUT/$tag.wrk" | grep -v '^RESULT' >&2 || true
  local result; result="$(grep '^RESULT' "$OUT/$tag.wrk" || echo 'RESULT requests=0 rps=0 p50=0 p99=0 non2xx=0 connect=0 read=0 write=0 timeout=0 messages=0')"
  if [[ "$name" == wxlib* ]]; then
    metrics_after="$("$PY" "$HERE/check.py" metrics "$url")"
    echo "   metrics before: $metrics_before" >&2
    echo "   metrics after:  $metrics_after" >&2
    extra="$metrics_after"
  fi
  stop_server
  if [[ "$name" == wxlib* ]]; then
    extra="$extra; db: $("$PY" "$HERE/check.py" dbcount "$data/wxlib.db")"
    echo "   $extra" >&2
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$conns" "$result" "$load" "$check" "$extra" "$round" "$threads" >>"$RESULTS"
}

settle() {
  local max="${SETTLE:-90}" waited=0
  while (( waited < max )) && awk '{exit !($1 >= 1.0)}' /proc/loadavg; do sleep 5; waited=$((waited + 5)); done
  (( waited > 0 )) && echo "   waited ${waited}s for the machine to settle (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  return 0
}

# ---------------------------------------------------------------- main
install_deps
build
settle
log "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo); $(uptime)"
if pgrep -f 'fuzz run' >/dev/null; then echo "   WARNING: a fuzzer is running; numbers will be low and noisy" >&2; fi
WXLIB_DESC="$WXLIB_DESC, binary $WXLIB_BIN built $(date -r "$WXLIB_BIN" '+%Y-%m-%d %H:%M:%S' 2>/dev/null || echo '?')"
log "wxlib: $WXLIB_DESC; output in $OUT"
echo "wxlib: $WXLIB_DESC" >"$OUT/wxlib-version.txt"
if [[ -n "${WXLIB_BIN_BASE:-}" ]]; then
  WXLIB_BASE_DESC="$WXLIB_BASE_DESC, binary $WXLIB_BIN_BASE built $(date -r "$WXLIB_BIN_BASE" '+%Y-%m-%d %H:%M:%S' 2>/dev/null || echo '?')"
  log "wxlib@base: $WXLIB_BASE_DESC"
  echo "wxlib@base: $WXLIB_BASE_DESC" >>"$OUT/wxlib-version.txt"
fi

for round in $(seq "$ROUNDS"); do
  for threads in $THREADS; do
    for conns in $CONNS; do
      for s in $SERVERS; do
        if [[ "$s" == gunicorn ]]; then
          for w in $WORKERS; do bench_one "gunicorn-w$w" "$conns" "$threads" "$round"; done
        else
          bench_one "$s" "$conns" "$threads" "$round"
          if [[ "$s" == wxlib* && -n "${WXLIB_BIN_BASE:-}" ]]; then bench_one "$s@base" "$conns" "$threads" "$round"; fi
        fi
      done
    done
  done
done

"$PY" "$HERE/report.py" "$RESULTS" "$DURATION" "$THREADS" "$OUT/wxlib-version.txt" | tee "$OUT/report.md"
echo "(raw wrk output, server logs and results.tsv in $OUT)"
