#!/usr/bin/env bash
# bench/availability: what live availability adds to a result page (issue 20). The same catalog and
# the same result pages, side by side in one run:
#   builtin   `wxlib serve` (release) with circulation.system = "builtin": the copies' statuses are
#             wxlib's own tables, read with the page (the ceiling: no library system to ask)
#   sip2      the same with circulation.system = "sip2" against the project's pysip2 library system
#             (tests/peers/sip2/sip2_backend.py, --items: every copy on the shelf): each copy on a
#             page not cached is one SIP2 Item Information, asked in parallel over the SIP2 pool
#             (pool_size 4, the default), kept for status_ttl_secs
# The catalog (gen.py): PAGES result pages of PER_PAGE records with COPIES copies each (Koha 952
# holdings, `wxlib import`), each page found by its own query word, so the first request for a page
# is cold (none of its copies cached) and the repeats warm. measure.py times /api/v1/search and
# /opac/search (half of the queries each) with one keep-alive client, checks every answer and counts
# the answers whose availability was all fresh, and prints the Markdown report.
#
# Usage: bench/availability/run.sh
# Knobs (environment):
#   PAGES=400   result pages (half for each endpoint: the cold samples)   PER_PAGE=10  COPIES=2
#   ROUNDS=5     warm repeats of every page        TTL=600  status_ttl_secs (so every repeat is warm)
#   SETTLE=60    wait up to this many seconds for the 1-min load average to drop below QUIET=1.5
#   WXLIB_BIN=PATH  benchmark this binary (no build; WXLIB_DESC says what it is in the report)
#   SKIP_BUILD=1    OUT=DIR (default bench/out/availability-<time>)
# The release build goes to $CARGO_TARGET_DIR when set, else target/.
#   UPDATE=1     also write the report to bench/availability/results-<date>.md
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PAGES="${PAGES:-400}"
PER_PAGE="${PER_PAGE:-10}"
COPIES="${COPIES:-2}"
ROUNDS="${ROUNDS:-5}"
TTL="${TTL:-600}"
SETTLE="${SETTLE:-60}"
QUIET="${QUIET:-1.5}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
WXLIB_BIN="${WXLIB_BIN:-}"
BUILT=""
VENV="$ROOT/bench/.venv"
PY="$VENV/bin/python"
OUT="${OUT:-$ROOT/bench/out/availability-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$OUT"

log() { printf '\n== %s\n' "$*" >&2; }

PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -CONT "$p" 2>/dev/null || true; kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

# ---------------------------------------------------------------- what the bench needs
if ! "$PY" -c 'import pymarc, pysip2' 2>/dev/null; then
  log "installing pymarc and pysip2 into bench/.venv"
  [[ -x "$PY" ]] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q pymarc "pysip2==0.1.0"
fi
if [[ -z "$WXLIB_BIN" ]]; then
  WXLIB_BIN="$TARGET/release/wxlib"
  BUILT=", release"
  if [[ -z "${SKIP_BUILD:-}" ]]; then
    log "building wxlib (release)"
    (cd "$ROOT" && cargo build --release -q -p wxlib)
  fi
fi
if [[ -n "$BUILT" ]]; then
  WXLIB_DESC="$WXLIB_BIN, built here from $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- crates Cargo.toml Cargo.lock || echo ' + uncommitted changes')"
else
  WXLIB_DESC="${WXLIB_DESC:-$WXLIB_BIN}"
fi

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
load1() { cut -d' ' -f1 /proc/loadavg; }
settle() {
  local waited=0
  while awk -v l="$(load1)" -v q="$QUIET" 'BEGIN{exit !(l>=q)}' && [[ $waited -lt $SETTLE ]]; do
    sleep 5; waited=$((waited + 5))
  done
  echo "$waited s, load $(cut -d' ' -f1-3 /proc/loadavg)"
}

# ---------------------------------------------------------------- the catalog
log "generating $PAGES pages × $PER_PAGE records × $COPIES copies"
"$PY" "$HERE/gen.py" --groups "$PAGES" --per-page "$PER_PAGE" --copies "$COPIES" --out "$OUT"

# ---------------------------------------------------------------- the library system
SIP_PORT="$(free_port)"
"$PY" "$ROOT/tests/peers/sip2/sip2_backend.py" "$SIP_PORT" --data borrowing --items "$OUT/items.csv" >"$OUT/sip2.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 300); do grep -q "listening on" "$OUT/sip2.log" && break; sleep 0.05; done
grep -q "listening on" "$OUT/sip2.log" || { echo "the SIP2 library system did not start" >&2; cat "$OUT/sip2.log" >&2; exit 1; }

config() { # name port
  local name="$1" port="$2" circ
  if [[ "$name" == sip2 ]]; then
    circ="system = \"sip2\"
status_ttl_secs = $TTL
status_budget_ms = 1000
[circulation.notices]
enabled = false
[circulation.sip2]
address = \"127.0.0.1:$SIP_PORT\"
login_user = \"sc\"
login_password = \"scpass\"
institution = \"UNIVLIB\"
location = \"MAIN\"
charset = \"utf-8\"
timeout_ms = 2000
pool_size = 4"
  else
    circ="system = \"builtin\""
  fi
  cat <<EOF
[server]
listen = "127.0.0.1:$port"
data_dir = "$OUT/$name-data"
public_url = "http://127.0.0.1:$port"
[wechat]
app_id = "wx1234567890abcdef"
app_secret = "bench-secret"
token = "libtoken"
encoding_aes_key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
api_base = "http://127.0.0.1:9"
[storage]
url = ""
[circulation]
$circ
EOF
}

RESULTS=()
SETTLED=()
for name in builtin sip2; do
  port="$(free_port)"
  config "$name" "$port" >"$OUT/$name.toml"
  log "$name: importing"
  "$WXLIB_BIN" import --config "$OUT/$name.toml" "$OUT/records.mrc" 2>&1 | tail -1 >&2
  RUST_LOG=warn "$WXLIB_BIN" serve --config "$OUT/$name.toml" >"$OUT/$name.log" 2>&1 &
  pid=$!
  PIDS+=($pid)
  for _ in $(seq 200); do curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null && break; sleep 0.05; done
  SETTLED+=("$name: $(settle)")
  log "$name: measuring"
  "$PY" "$HERE/measure.py" run --server "$name=http://127.0.0.1:$port" --queries "$OUT/queries.txt" --per-page "$PER_PAGE" \
    --copies "$COPIES" --rounds "$ROUNDS" --out "$OUT/$name.json"
  RESULTS+=("$OUT/$name.json")
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
done

# ---------------------------------------------------------------- the report
CMD="bench/availability/run.sh"
[[ "$PAGES$PER_PAGE$COPIES$ROUNDS$TTL" != "4001025600" ]] && CMD="PAGES=$PAGES PER_PAGE=$PER_PAGE COPIES=$COPIES ROUNDS=$ROUNDS TTL=$TTL $CMD"
{
  echo "### $(date -u '+%Y-%m-%d %H:%M UTC'): live availability on a result page"
  echo
  echo "Machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(free -g | awk '/Mem:/{print $2}') GiB. wxlib: $WXLIB_DESC$BUILT."
  echo "SIP2: pysip2 0.1.0 library system on the same machine (one Python process), wxlib's pool_size 4, status_ttl_secs $TTL, status_budget_ms 1000."
  echo "Load before each server: ${SETTLED[*]}."
  echo
  "$PY" "$HERE/measure.py" report "${RESULTS[@]}" --command "$CMD"
} | tee "$OUT/report.md"
if [[ -n "${UPDATE:-}" ]]; then cp "$OUT/report.md" "$HERE/results-$(date +%Y-%m-%d).md"; fi
