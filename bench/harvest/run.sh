#!/usr/bin/env bash
# bench/harvest: getting the catalog in by OAI-PMH harvesting against `wxlib import` of the same
# records, in one run on one machine:
#   import    `wxlib import FILE` into a fresh data dir (database + search index), under
#             /usr/bin/time -v: wall time, records/s, peak RSS
#   harvest   `wxlib harvest` into another fresh data dir from the real OAI-PMH provider of the
#             tests (tests/peers/oai: pyoai over the same file, MARCXML, --page-size records a
#             page): wall time, records/s, pages, peak RSS; the provider's CPU seconds meanwhile
#             (it runs on the same 2 cores, and on a 250k harvest it is the slower side)
#   again     `wxlib harvest` once more with nothing changed: the incremental run's cost
# The records are the 250,000 real Library of Congress records (BooksAll.2016.part01.utf8 from the
# pymarc 5.4.0 source package), shared with bench/catalog (bench/catalog/cache/).
#
# Usage: bench/harvest/run.sh [--records N] [--page-size P] [--bin PATH] [--skip-build]
#                             [--update-benchmarks | --no-benchmarks]
#   --records N          the first N records (a quick run); default all 250,000
#   --page-size P        records per ListRecords page (default 500, Koha's default is 50)
#   --bin PATH           the wxlib binary (default target/release/wxlib, built first)
#   --skip-build         use target/release/wxlib as it is
#   --update-benchmarks  write the section of BENCHMARKS.md also for a --records run (full runs do)
#   --no-benchmarks      never touch BENCHMARKS.md
# The Python peer (pyoai, lxml, pymarc) goes into bench/harvest/cache/venv; each run's logs into
# bench/harvest/cache/run-<time>/; the report to stdout and bench/harvest/results-<date>.md.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CACHE="$HERE/cache"
LC_CACHE="$ROOT/bench/catalog/cache"
RECORDS=0 PAGE=500 WXLIB="" SKIP_BUILD="" BENCH_MD=auto
CMDLINE="bench/harvest/run.sh${*:+ $*}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --records) RECORDS="$2"; shift 2 ;;
    --page-size) PAGE="$2"; shift 2 ;;
    --bin) WXLIB="$(realpath "$2")"; shift 2 ;;
    --skip-build) SKIP_BUILD=1; shift ;;
    --update-benchmarks) BENCH_MD=yes; shift ;;
    --no-benchmarks) BENCH_MD=no; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
log() { printf '\n== [%s load %s] %s\n' "$(date +%H:%M:%S)" "$(cut -d' ' -f1-3 /proc/loadavg)" "$*" >&2; }
mkdir -p "$CACHE" "$LC_CACHE"
RUN="$CACHE/run-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$RUN"

PROVIDER_PID=""
cleanup() {
  if [[ -n "$PROVIDER_PID" ]] && kill -0 "$PROVIDER_PID" 2>/dev/null; then kill -TERM "$PROVIDER_PID" 2>/dev/null || true; wait "$PROVIDER_PID" 2>/dev/null || true; fi
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

# ---------------------------------------------------------------- what the bench needs
[[ -x /usr/bin/time ]] || apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends time >"$RUN/apt.log" 2>&1
PY="$CACHE/venv/bin/python"
if [[ ! -x "$PY" ]] || ! "$PY" -c 'import oaipmh, lxml, pymarc' 2>/dev/null; then
  log "installing the provider's Python packages (pyoai, lxml, pymarc) into $CACHE/venv"
  python3 -m venv "$CACHE/venv"
  "$CACHE/venv/bin/pip" install -q --disable-pip-version-check pyoai==2.5.0 lxml==6.2.1 pymarc==5.4.0
fi
LC="$LC_CACHE/pymarc-5.4.0/BooksAll.2016.part01.utf8"
if [[ ! -s "$LC" ]]; then
  if [[ ! -s "$LC_CACHE/pymarc-5.4.0.tar.gz" ]]; then
    log "downloading the pymarc 5.4.0 source package (the 250,000 LC records)"
    "$CACHE/venv/bin/pip" download -q --no-deps --no-binary :all: pymarc==5.4.0 -d "$LC_CACHE"
  fi
  tar -xzf "$LC_CACHE/pymarc-5.4.0.tar.gz" -C "$LC_CACHE" pymarc-5.4.0/BooksAll.2016.part01.utf8
fi
MRC="$LC"
if [[ "$RECORDS" -gt 0 ]]; then
  MRC="$CACHE/records-$RECORDS.mrc"
  [[ -s "$MRC" ]] || python3 - "$LC" "$RECORDS" "$MRC" <<'EOF'
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
NREC="$(python3 -c 'import sys; print(open(sys.argv[1], "rb").read().count(b"\x1d"))' "$MRC")"

if [[ -z "$WXLIB" ]]; then
  WXLIB="$ROOT/target/release/wxlib"
  if [[ -z "$SKIP_BUILD" ]]; then log "building wxlib (release)"; (cd "$ROOT" && cargo build --release -q -p wxlib); fi
  REV="$(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- crates Cargo.toml Cargo.lock || echo ' + uncommitted changes')"
else
  REV="$WXLIB"
fi
[[ -x "$WXLIB" ]] || { echo "no wxlib binary at $WXLIB" >&2; exit 1; }

conf() { # data_dir [harvest_url]
  cat <<EOF
[server]
data_dir = "$1"
public_url = "http://127.0.0.1:1"
[wechat]
app_id = "wx1234567890abcdef"
app_secret = "bench-secret"
token = "libtoken"
api_base = "http://127.0.0.1:9"
[catalog.harvest]
url = "${2:-}"
EOF
}
wall_s() { awk -F': ' '/Elapsed \(wall clock\)/{n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$1"; }
rss_mb() { awk -F': ' '/Maximum resident set size/{printf "%.0f", $2/1024}' "$1"; }
cpu_s() { awk '{print ($14 + $15) / 100}' "/proc/$1/stat"; }   # utime + stime, at 100 ticks/s

# ---------------------------------------------------------------- import
log "wxlib import: $NREC records"
conf "$RUN/import-data" >"$RUN/import.toml"
/usr/bin/time -v -o "$RUN/import.time" "$WXLIB" import --config "$RUN/import.toml" "$MRC" >"$RUN/import.log" 2>&1 || { tail "$RUN/import.log" >&2; exit 1; }
grep -E '^(total|search index)' "$RUN/import.log" >&2
IMPORT_WALL="$(wall_s "$RUN/import.time")" IMPORT_RSS="$(rss_mb "$RUN/import.time")"
IMPORT_ADDED="$(sed -nE 's/^total: read [0-9]+, added ([0-9]+).*/\1/p' "$RUN/import.log")"
IMPORT_LINE="$(grep '^total:' "$RUN/import.log")"
rm -rf "$RUN/import-data"

# ---------------------------------------------------------------- the provider
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
log "OAI-PMH provider (pyoai) on port $PORT, pages of $PAGE: loading $NREC records"
T0=$(date +%s.%N)
"$PY" "$ROOT/tests/peers/oai/oai_provider.py" --port "$PORT" --page-size "$PAGE" "$MRC" >"$RUN/provider.log" 2>&1 &
PROVIDER_PID=$!
until grep -q '^serving' "$RUN/provider.log"; do
  kill -0 "$PROVIDER_PID" 2>/dev/null || { cat "$RUN/provider.log" >&2; exit 1; }
  sleep 1
done
LOAD_S="$(python3 -c "import time,sys; print(round(time.time()-float(sys.argv[1]),1))" "$T0")"
PROVIDER_LINE="$(grep '^serving' "$RUN/provider.log")"
log "$PROVIDER_LINE (loaded in $LOAD_S s)"

# ---------------------------------------------------------------- harvest
conf "$RUN/harvest-data" "http://127.0.0.1:$PORT/oai" >"$RUN/harvest.toml"
log "wxlib harvest (full)"
P0="$(cpu_s "$PROVIDER_PID")"
/usr/bin/time -v -o "$RUN/harvest.time" "$WXLIB" harvest --config "$RUN/harvest.toml" >"$RUN/harvest.log" 2>"$RUN/harvest.err" || { tail "$RUN/harvest.err" >&2; exit 1; }
P1="$(cpu_s "$PROVIDER_PID")"
cat "$RUN/harvest.log" >&2
HARVEST_WALL="$(wall_s "$RUN/harvest.time")" HARVEST_RSS="$(rss_mb "$RUN/harvest.time")"
HARVEST_CPU="$(awk -F': ' '/User time/{u=$2} /System time/{s=$2} END{print u+s}' "$RUN/harvest.time")"
HARVEST_LINE="$(grep '^harvest complete' "$RUN/harvest.log")"
HARVEST_ADDED="$(sed -nE 's/^harvest complete: added ([0-9]+).*/\1/p' "$RUN/harvest.log")"
PAGES="$(sed -nE 's/.*; ([0-9]+) page\(s\).*/\1/p' "$RUN/harvest.log")"
PROVIDER_CPU="$(awk -v a="$P0" -v b="$P1" 'BEGIN{printf "%.1f", b-a}')"
INDEX_LINE="$(grep '^search index' "$RUN/harvest.log" || true)"

log "wxlib harvest again (nothing changed)"
/usr/bin/time -v -o "$RUN/again.time" "$WXLIB" harvest --config "$RUN/harvest.toml" >"$RUN/again.log" 2>"$RUN/again.err" || { tail "$RUN/again.err" >&2; exit 1; }
cat "$RUN/again.log" >&2
AGAIN_WALL="$(wall_s "$RUN/again.time")"
AGAIN_LINE="$(grep '^harvest complete' "$RUN/again.log")"
AGAIN_UPDATED="$(sed -nE 's/^harvest complete: added [0-9]+, updated ([0-9]+).*/\1/p' "$RUN/again.log")"
if [[ "$AGAIN_UPDATED" -eq 0 ]]; then
  AGAIN_NOTE="one Identify, one ListRecords (noRecordsMatch)"
else
  AGAIN_NOTE="$AGAIN_UPDATED records changed within a minute of the checkpoint (the overlap) fetched again, as updates"
fi
rm -rf "$RUN/harvest-data"

# ---------------------------------------------------------------- report
rate() { awk -v n="$1" -v s="$2" 'BEGIN{printf "%.0f", n/(s>0?s:1)}'; }
DATE="$(date +%F)"
MACHINE="$(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), $(awk '/MemTotal/{printf "%.1f GiB RAM", $2/1048576}' /proc/meminfo), $(uname -sr)"
SRC="BooksAll.2016.part01.utf8"; [[ "$RECORDS" -gt 0 ]] && SRC="the first $RECORDS records of BooksAll.2016.part01.utf8"
REPORT="$RUN/report.md"
cat >"$REPORT" <<EOF
## Catalog: harvest over OAI-PMH against import (bench/harvest)

$DATE, $MACHINE; wxlib $REV; \`$CMDLINE\`; $NREC records ($SRC), pages of $PAGE.
The provider is the tests' pyoai peer (tests/peers/oai) on the same 2 cores; it took $LOAD_S s to load the records.

| way in | records | wall | records/s | peak RSS | notes |
|---|---|---|---|---|---|
| \`wxlib import\` (ISO 2709 file) | $IMPORT_ADDED | $IMPORT_WALL s | $(rate "$IMPORT_ADDED" "$IMPORT_WALL") | $IMPORT_RSS MB | database and search index |
| \`wxlib harvest\` (full) | $HARVEST_ADDED | $HARVEST_WALL s | $(rate "$HARVEST_ADDED" "$HARVEST_WALL") | $HARVEST_RSS MB | $PAGES pages; wxlib CPU $HARVEST_CPU s, the provider's $PROVIDER_CPU s |
| \`wxlib harvest\` again (nothing changed) | $AGAIN_UPDATED | $AGAIN_WALL s | | | $AGAIN_NOTE |

- import: \`$IMPORT_LINE\`
- harvest: \`$HARVEST_LINE\`; \`$INDEX_LINE\`
- again: \`$AGAIN_LINE\`
- logs: ${RUN#"$ROOT"/}
EOF
cat "$REPORT"
cp "$REPORT" "$HERE/results-$DATE$([[ "$RECORDS" -gt 0 ]] && echo "-${RECORDS}rec").md"
if [[ "$BENCH_MD" == auto ]]; then [[ "$RECORDS" -eq 0 ]] && BENCH_MD=yes || BENCH_MD=no; fi
if [[ "$BENCH_MD" == yes ]]; then
  python3 - "$ROOT/BENCHMARKS.md" "$REPORT" <<'EOF'
import re, sys
path, report = sys.argv[1], open(sys.argv[2]).read().rstrip() + "\n"
text = open(path).read()
head = "## Catalog: harvest over OAI-PMH against import (bench/harvest)"
m = re.search(re.escape(head) + r".*?(?=^## |\Z)", text, flags=re.S | re.M)
text = text[: m.start()] + report + "\n" + text[m.end():] if m else text.rstrip() + "\n\n" + report
open(path, "w").write(text)
EOF
  echo "BENCHMARKS.md updated" >&2
fi
