#!/usr/bin/env bash
# bench/nodes: the WeChat callback round trip through nginx (deploy/nginx/wxlib.conf, rendered by
# nginx_site.py as the multi-node tests render it) in front of 1, 2 and 3 `wxlib serve` nodes on
# one PostgreSQL database (a fresh one per configuration), and, in the same run, the same load
# straight at one node (the ceiling nginx is measured against). Messages are bench/callback's:
# distinct safe-mode texts made by wechatpy exactly as WeChat sends them (gen_messages.py, 帮助 —
# the front door's round trip: signature, decryption, the journal's claim and finish on
# PostgreSQL, the reply encrypted), replayed by wrk (bench/callback/replay.lua).
#
# Everything runs on this machine: nginx, the nodes, PostgreSQL and wrk share its cores, so on a
# 2-core machine more nodes cannot mean more throughput (the report says how many cores).
#
# Usage: bench/nodes/run.sh
# Knobs (environment):
#   DURATION=15   seconds per wrk run       CONNS=32      wrk connections     THREADS=1  wrk threads
#   NODES="1 2 3" node counts behind nginx   COUNT=150000  messages per run (fresh before each run)
#   PG=postgres://postgres@127.0.0.1:5432   (a server URL; the bench creates and drops its databases)
#   WXLIB_BIN=target/release/wxlib (built if missing)   OUT=bench/out/nodes-DATE
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CB="$ROOT/bench/callback"
DURATION="${DURATION:-15}"
CONNS="${CONNS:-32}"
THREADS="${THREADS:-1}"
NODES="${NODES:-1 2 3}"
COUNT="${COUNT:-150000}"
PG="${PG:-postgres://postgres@127.0.0.1:5432}"
WXLIB_BIN="${WXLIB_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/wxlib}"
OUT="${OUT:-$ROOT/bench/out/nodes-$(date +%Y%m%d-%H%M%S)}"
VENV="$ROOT/bench/.venv"
PY="$VENV/bin/python"
mkdir -p "$OUT"
log() { printf '\n== %s\n' "$*" >&2; }

PIDS=()
DBS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  PIDS=()
  for d in "${DBS[@]}"; do psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $d WITH (FORCE)" >/dev/null 2>&1 || true; done
  DBS=()
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

for tool in wrk nginx psql; do
  command -v "$tool" >/dev/null || { log "installing $tool"; pkg=$tool; [[ $tool == psql ]] && pkg=postgresql-client
    apt-get install -y -qq "$pkg" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "$pkg" >/dev/null; }; }
done
if ! "$PY" -c 'import wechatpy, cryptography, xmltodict' 2>/dev/null; then
  log "creating the Python venv at bench/.venv"
  python3 -m venv "$VENV" && "$VENV/bin/pip" install -q wechatpy==1.8.18 cryptography flask gunicorn xmltodict
fi
if [[ ! -x "$WXLIB_BIN" ]]; then log "building wxlib (release)"; (cd "$ROOT" && cargo build --release -q -p wxlib); fi

port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_up() { for _ in $(seq 300); do curl -fsS -o /dev/null "$1/healthz" 2>/dev/null && return 0; sleep 0.05; done; echo "not up: $1" >&2; return 1; }

start_nodes() { # n db -> NODE_PORTS
  local n="$1" db="$2" i p
  NODE_PORTS=()
  for i in $(seq "$n"); do
    p="$(port)"
    mkdir -p "$OUT/$db-n$i"
    RUST_LOG=warn WXLIB_SERVER__LISTEN="127.0.0.1:$p" WXLIB_SERVER__DATA_DIR="$OUT/$db-n$i" WXLIB_STORAGE__URL="$PG/$db" \
      "$WXLIB_BIN" serve --config "$CB/wxlib.toml" >"$OUT/$db-n$i.log" 2>&1 &
    PIDS+=($!)
    NODE_PORTS+=("$p")
    wait_up "http://127.0.0.1:$p"   # one at a time: the first migrates the fresh database
  done
}

start_nginx() { # dir ports... -> NGINX_URL
  local dir="$1"; shift
  local hp sp
  hp="$(port)"; sp="$(port)"
  mkdir -p "$dir"
  "$PY" "$HERE/nginx_site.py" "$dir" "$hp" "$sp" "$@"
  nginx -p "$dir" -c "$dir/nginx.conf" -g "daemon off; pid $dir/nginx.pid;" 2>"$dir/stderr" &
  PIDS+=($!)
  NGINX_URL="http://127.0.0.1:$hp"
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$sp/" && break; sleep 0.05; done
}

RESULTS="$OUT/results.tsv"
: >"$RESULTS"
run() { # label url
  local label="$1" url="$2" raw="$OUT/$1.wrk"
  (cd "$CB" && "$PY" gen_messages.py --count "$COUNT" --text help --out "$OUT/messages.txt")
  log "$label: wrk -t$THREADS -c$CONNS -d${DURATION}s $url"
  wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --timeout 10s --latency -s "$CB/replay.lua" "$url" -- "$OUT/messages.txt" "$THREADS" >"$raw"
  local rps p50 p99 errs
  rps="$(awk '/^Requests\/sec/ {print $2}' "$raw")"
  p50="$(awk '$1 == "50%" {print $2}' "$raw")"
  p99="$(awk '$1 == "99%" {print $2}' "$raw")"
  errs="$(awk '/Non-2xx/ {print $NF} /Socket errors/ {print}' "$raw" | tr '\n' ' ')"
  printf '%s\t%s\t%s\t%s\t%s\n' "$label" "$rps" "$p50" "$p99" "${errs:-0}" >>"$RESULTS"
  cat "$raw" >&2
}

for n in $NODES; do
  db="wxlib_bench_nodes_$(date +%s)_$n"
  psql "$PG/postgres" -qc "CREATE DATABASE $db" >/dev/null
  DBS+=("$db")
  start_nodes "$n" "$db"
  if [[ "$n" == "$(echo $NODES | awk '{print $1}')" ]]; then
    run "direct-to-1-node" "http://127.0.0.1:${NODE_PORTS[0]}"
  fi
  start_nginx "$OUT/nginx-$n" "${NODE_PORTS[@]}"
  run "nginx-$n-nodes" "$NGINX_URL"
  cleanup
done

cores="$(nproc)"
cpu="$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
{
  echo "### bench/nodes, $(date -u +%Y-%m-%d), $cores cores ($cpu), wxlib $(git -C "$ROOT" rev-parse --short HEAD)"
  echo
  echo "wrk -t$THREADS -c$CONNS -d${DURATION}s, safe-mode 帮助 callbacks (bench/callback/gen_messages.py), PostgreSQL $(psql "$PG/postgres" -tAc 'SHOW server_version' | cut -d' ' -f1) on the same machine."
  echo
  echo "| setup | requests/s | p50 | p99 | errors |"
  echo "|---|---:|---:|---:|---|"
  awk -F'\t' '{printf "| %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5}' "$RESULTS"
} | tee "$OUT/report.md"
echo "(raw wrk output and node logs in $OUT)"
