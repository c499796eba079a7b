#!/usr/bin/env bash
# bench/nodes/soak: two `wxlib serve` nodes behind nginx (deploy/nginx/wxlib.conf, as run.sh
# renders it) on one PostgreSQL database, under a steady callback load for SOAK_SECS (30 minutes),
# with each node's RSS (VmRSS) at the start of the load, every 5 minutes, and at the end.
# The load is bench/callback's replayed messages at CONNS connections; a 30-minute run wraps
# around the message file; its messages are timestamped when it is made, inside the nodes' 3600 s
# window, and a wrapped message is an old one, answered from the journal as a retry would be.
#
# Usage: bench/nodes/soak.sh     Knobs: SOAK_SECS=1800 CONNS=8 COUNT=200000 PG=... WXLIB_BIN=...
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CB="$ROOT/bench/callback"
SOAK_SECS="${SOAK_SECS:-1800}"
CONNS="${CONNS:-8}"
COUNT="${COUNT:-200000}"
PG="${PG:-postgres://postgres@127.0.0.1:5432}"
WXLIB_BIN="${WXLIB_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/wxlib}"
OUT="${OUT:-$ROOT/bench/out/soak-$(date +%Y%m%d-%H%M%S)}"
PY="$ROOT/bench/.venv/bin/python"
mkdir -p "$OUT"
[[ -x "$PY" ]] || { python3 -m venv "$ROOT/bench/.venv" && "$ROOT/bench/.venv/bin/pip" install -q wechatpy==1.8.18 cryptography xmltodict; }
command -v wrk >/dev/null || apt-get install -y -qq wrk nginx >/dev/null
PIDS=()
DB="wxlib_soak_$(date +%s)"
cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT
port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
psql "$PG/postgres" -qc "CREATE DATABASE $DB" >/dev/null
NODE_PORTS=(); NODE_PIDS=()
for i in 1 2; do
  p="$(port)"
  RUST_LOG=warn WXLIB_SERVER__LISTEN="127.0.0.1:$p" WXLIB_SERVER__DATA_DIR="$OUT/n$i" WXLIB_STORAGE__URL="$PG/$DB" \
    WXLIB_WECHAT__TIMESTAMP_TOLERANCE_SECS=3600 "$WXLIB_BIN" serve --config "$CB/wxlib.toml" >"$OUT/n$i.log" 2>&1 &
  PIDS+=($!); NODE_PIDS+=($!); NODE_PORTS+=("$p")
  for _ in $(seq 300); do curl -fsS -o /dev/null "http://127.0.0.1:$p/healthz" 2>/dev/null && break; sleep 0.05; done
done
hp="$(port)"; sp="$(port)"
"$PY" "$HERE/nginx_site.py" "$OUT" "$hp" "$sp" "${NODE_PORTS[@]}"
nginx -p "$OUT" -c "$OUT/nginx.conf" -g "daemon off; pid $OUT/nginx.pid;" 2>"$OUT/nginx.stderr" &
PIDS+=($!)
sleep 0.5
(cd "$CB" && "$PY" gen_messages.py --count "$COUNT" --text help --out "$OUT/messages.txt")
rss() { for p in "${NODE_PIDS[@]}"; do printf '%s ' "$(awk '/VmRSS/ {print $2}' "/proc/$p/status")"; done; }
wrk -t1 -c"$CONNS" -d"${SOAK_SECS}s" --timeout 10s --latency -s "$CB/replay.lua" "http://127.0.0.1:$hp" -- "$OUT/messages.txt" 1 >"$OUT/wrk.txt" &
WRK=$!
sleep 10
start_rss="$(rss)"
echo "RSS (kB) of the two nodes 10 s into the load: $start_rss" | tee "$OUT/rss.txt"
elapsed=10
while kill -0 "$WRK" 2>/dev/null; do
  sleep 60; elapsed=$((elapsed + 60))
  (( elapsed % 300 < 60 )) && echo "RSS (kB) at ${elapsed}s: $(rss)" | tee -a "$OUT/rss.txt"
done
end_rss="$(rss)"
echo "RSS (kB) at the end: $end_rss" | tee -a "$OUT/rss.txt"
cat "$OUT/wrk.txt"
echo "soak: ${SOAK_SECS}s, 2 nodes behind nginx, $(awk '/^Requests\/sec/ {print $2}' "$OUT/wrk.txt") req/s, p99 $(awk '$1 == "99%" {print $2}' "$OUT/wrk.txt"), RSS kB start $start_rss end $end_rss"
