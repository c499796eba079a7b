#!/usr/bin/env bash
# Build a Zebra SRU/Z39.50 test catalogue from ISO 2709 files and start zebrasrv (the real peer of
# tests/python/test_partners_sru.py and bench/catalog; see tests/peers/README.md).
# Needs Debian packages: yaz idzebra-2.0 (pulls libidzebra-2.0-mod-dom).
# usage: zebra-up.sh DATA_DIR WORK_DIR [PORT]   -> SRU at http://127.0.0.1:PORT/Default
set -euo pipefail
DATA=$(realpath "$1"); WORK=$2; PORT=${3:-9999}; HERE=$(cd "$(dirname "$0")" && pwd)
EX=/usr/share/doc/idzebra-2.0/examples/marcxml
rm -rf "$WORK"; mkdir -p "$WORK"/{reg,lock,tmp,data}; cd "$WORK"
cp "$HERE"/{index-marc21.xsl,dom-config.xml,zebra.cfg,yazgfs.xml,words-icu.xml,phrases-icu.xml} .
cp "$EX/identity.xsl" "$EX/zebra.xsl" .
for f in MARC21slim2SRWDC MARC21slimUtils; do zcat "$EX/$f.xsl.gz" > "$f.xsl"; done
sed -i 's#href="http://www.loc.gov/standards/marcxml/xslt/MARC21slimUtils.xsl"#href="MARC21slimUtils.xsl"#' MARC21slim2SRWDC.xsl
sed -i "s#tcp:127.0.0.1:9999#tcp:127.0.0.1:$PORT#; s#<port>9999</port>#<port>$PORT</port>#" yazgfs.xml
# CQL -> PQF: start from YAZ's file; default relations rank by relevance (2=102); dc.date -> 1=31
sed -E -e 's/^index\.dc\.date\s.*/index.dc.date = 1=31/' -e 's/^relation\.eq\s.*/relation.eq = 2=102/' \
       -e 's/^relation\.all\s.*/relation.all = 2=102 4=6/' -e 's/^relation\.any\s.*/relation.any = 2=102 4=105/' \
       -e 's/^relation\.scr\s.*/relation.scr = 2=102/' /usr/share/yaz/etc/pqf.properties > pqf.properties
printf '%s\n' 'index.cql.anywhere = 1=1016' 'index.dc.identifier = 1=7' 'index.bath.isbn = 1=7' >> pqf.properties
for f in "$DATA"/*.mrc; do   case $f in *unimarc*) continue;; esac   # MARC21 only. leader/09 'a' = UTF-8, blank = MARC-8 (converted, leader set to 'a')
  if [ "$(head -c 10 "$f" | tail -c 1)" = a ]; then enc=(-f UTF-8 -t UTF-8); else enc=(-f MARC-8 -t UTF-8 -l 9=97); fi
  yaz-marcdump -i marc -o marcxml "${enc[@]}" "$f" > "data/$(basename "$f" .mrc).xml"
done
zebraidx -c zebra.cfg init >idx.log 2>&1
zebraidx -c zebra.cfg update data >>idx.log 2>&1
zebrasrv -f yazgfs.xml -l zebrasrv.log -p zebrasrv.pid -D    # -D: daemon; stop with kill $(cat zebrasrv.pid)
for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/Default?operation=explain&version=1.2" && break; sleep 0.1; done
grep -o 'Records: [0-9]* i/u/d.*' idx.log | tail -1
echo "SRU: http://127.0.0.1:$PORT/Default   Z39.50: tcp:127.0.0.1:$PORT/Default   pid $(cat zebrasrv.pid)"
