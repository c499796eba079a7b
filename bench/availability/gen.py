"""The catalog of bench/availability: GROUPS result pages of PER_PAGE records, COPIES copies each.

Every record of group g has the word `zq<g in letters>` in its title (an ASCII word no other record
has), so the query `zq…` finds exactly that group's records: one result page of PER_PAGE hits, each
with COPIES copies, all different from every other group's. A first request for a group therefore
finds none of its copies' statuses cached (cold); a repeat finds all of them (warm).

Writes MARC 21 (pymarc; Koha 952 holdings: $a branch, $c location, $o call number, $p barcode) for
`wxlib import`, the copies as barcode,title for the pysip2 library system's --items, and the
queries, one per line.

usage: gen.py --groups 120 --per-page 10 --copies 2 --out DIR
"""
import argparse
import csv
import pathlib

from pymarc import Field, Indicators, MARCWriter, Record, Subfield


def word(g):
    """zq + g in base-26 letters (tokenizers keep it whole; no real word looks like it)."""
    s = ""
    g += 26 * 26  # at least three letters
    while g:
        g, r = divmod(g, 26)
        s = chr(ord("a") + r) + s
    return "zq" + s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--groups", type=int, default=120)
    ap.add_argument("--per-page", type=int, default=10)
    ap.add_argument("--copies", type=int, default=2)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    out = pathlib.Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "records.mrc", "wb") as f, open(out / "items.csv", "w", newline="", encoding="utf-8") as c, \
            open(out / "queries.txt", "w", encoding="utf-8") as q:
        w = MARCWriter(f)
        items = csv.writer(c)
        items.writerow(["barcode", "title"])
        for g in range(a.groups):
            q.write(word(g) + "\n")
            for i in range(a.per_page):
                rid = f"av{g:04d}{i:02d}"
                title = f"馆藏状态测试 {word(g)} 第{i + 1}册"
                r = Record(force_utf8=True)
                r.leader = "00000nam a2200000 a 4500"
                r.add_field(Field(tag="001", data=rid))
                r.add_field(Field(tag="100", indicators=Indicators("1", " "), subfields=[Subfield("a", "测试作者")]))
                r.add_field(Field(tag="245", indicators=Indicators("1", "0"), subfields=[Subfield("a", title)]))
                r.add_field(Field(tag="260", indicators=Indicators(" ", " "), subfields=[Subfield("b", "测试出版社"), Subfield("c", "2020")]))
                for k in range(a.copies):
                    barcode = f"AV{g:04d}{i:02d}{k}"
                    r.add_field(Field(tag="952", indicators=Indicators(" ", " "), subfields=[
                        Subfield("a", "MAIN"), Subfield("c", "总馆二层"), Subfield("o", f"G{g}/{i}"), Subfield("p", barcode),
                        Subfield("y", "BK")]))
                    items.writerow([barcode, title])
                w.write(r)
        w.close(close_fh=False)


if __name__ == "__main__":
    main()
