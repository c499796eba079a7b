"""Cross-check the Rust `marc` crate against pymarc on the real MARC files.

For every record that pymarc can read in tests/data/marc/*.mrc, our side (the
`marcdump_json` example of crates/marc) and pymarc must agree on:

* control number (001),
* title   = 245 $a $b $n $p (UNIMARC: 200 $a joined " ; ", then " : " + each $e),
* main author = $a of the first of 100/110/111 (UNIMARC: 700/701/710/711 $a + $b),
* ISBNs   = 020 $a (UNIMARC 010 $a) normalised to ISBN-13, invalid ones dropped,
* year    = 008/07-10 if four ASCII digits, else the first four-digit run in the
            $c of 260 (else 264 with ind2 "1", else the first 264)
            (UNIMARC: 100 $a/09-12, else 210/214 $d).

Normalisation applied to pymarc's raw values, identical to crates/marc/src/bib.rs:
non-sorting markers U+0088/U+0089/U+0098/U+009C removed; subfield values stripped and
joined with one space; then trailing ISBD punctuation removed repeatedly: whitespace,
"/ : ; = ," and their full-width forms, and "." unless it ends "..." or follows a
lone capital initial ("Smith, J."). ISBN rule: see crates/marc/src/isbn.rs.

Our side: $MARC_DUMP_BIN FILE if set, else `cargo run -q -p marc --example
marcdump_json -- FILE`. Data: the repository's tests/data/marc.
"""
import json
import os
import pathlib
import re
import subprocess

import pymarc
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
MARC_DIR = ROOT / "tests" / "data" / "marc"

FILES = [
    "lc-books2016-zh-4000.mrc",
    "lc-books2016-en-4000.mrc",
    "yaz-marccol1-cjk-utf8.mrc",
    "marc-charset-cjk1-marc8.mrc",
    "marc-charset-cjk2-marc8.mrc",
    "marc-charset-cjk3-marc8.mrc",
    "marc-charset-cjk4-marc8.mrc",
    "zebra-sample-marc21-marc8.mrc",
    "marc-record-camel-marc8.mrc",
    "pymarc-testunimarc.mrc",
]
# pymarc cannot know this file is UNIMARC in Unicode (leader/09 is undefined there).
FORCE_UTF8 = {"pymarc-testunimarc.mrc"}

NON_SORT = "\u0088\u0089\u0098\u009c"
TRAILING = "/:;=,／：；＝，"


# ---------------------------------------------------------------- normalisation


def clean_isbd(s):
    for c in NON_SORT:
        s = s.replace(c, "")
    t = s.strip()
    while True:
        t = t.rstrip()
        if t and t[-1] in TRAILING:
            t = t[:-1]
            continue
        if t.endswith(".") and not t.endswith("...") and not ends_with_initial(t[:-1]):
            t = t[:-1]
            continue
        break
    return t.strip()


def ends_with_initial(s):
    if not s or not s[-1].isupper():
        return False
    return len(s) == 1 or not s[-2].isalnum()


def join_clean(field, codes):
    parts = [v.strip() for v in field.get_subfields(*codes) if v.strip()]
    return clean_isbd(" ".join(parts)) or None


def isbn13(raw):
    s = raw.lstrip()
    if s[:4].lower() == "isbn":
        s = s[4:].lstrip(": ")
    core = ""
    for c in s:
        if c in "0123456789":
            core += c
        elif c in "Xx":
            core += "X"
        elif c == "-":
            pass
        elif c == " ":
            if len(core) in (10, 13):
                break
        else:
            break
    if len(core) == 10 and valid10(core):
        body = "978" + core[:9]
        return body + check13(body)
    if len(core) == 13 and core[:3] in ("978", "979") and core.isdigit() and check13(core[:12]) == core[12]:
        return core
    return None


def valid10(s):
    total = 0
    for i, c in enumerate(s):
        if i == 9 and c == "X":
            v = 10
        elif c.isdigit():
            v = int(c)
        else:
            return False
        total += v * (10 - i)
    return total % 11 == 0


def check13(s12):
    total = sum(int(c) * (1 if i % 2 == 0 else 3) for i, c in enumerate(s12))
    return str((10 - total % 10) % 10)


def first_year(s):
    m = re.search(r"[0-9]{4}", s or "")
    return int(m.group(0)) if m else None


def unique(values):
    out = []
    for v in values:
        if v and v not in out:
            out.append(v)
    return out


def first(rec, *tags):
    for t in tags:
        fs = rec.get_fields(t)
        if fs:
            return fs[0]
    return None


def control(rec, tag):
    f = first(rec, tag)
    if f is None or not f.is_control_field():
        return None
    # A 00X "control field" holding subfields is danMARC2 data: like YAZ, the crate
    # parses it as a data field, so it is no control field on our side.
    if "\x1f" in f.data:
        return None
    return f.data


def control_number(rec):
    return (control(rec, "001") or "").strip() or None


def expected_marc21(rec):
    f245 = first(rec, "245")
    main = first(rec, "100", "110", "111")
    date1 = (control(rec, "008") or "")[7:11]
    if len(date1) == 4 and all(c in "0123456789" for c in date1):
        year = int(date1)
    else:
        pubs = rec.get_fields("260") or [f for f in rec.get_fields("264") if f.indicator2 == "1"] or rec.get_fields("264")
        c = pubs[0].get_subfields("c") if pubs else []
        year = first_year(c[0]) if c else None
    return {
        "control_number": control_number(rec),
        "title": join_clean(f245, "abnp") if f245 is not None else None,
        "main_author": join_clean(main, "a") if main is not None else None,
        "isbn13": unique(isbn13(v) for f in rec.get_fields("020") for v in f.get_subfields("a")),
        "year": year,
    }


def unimarc_name(f):
    a = (f.get_subfields("a") or [""])[0].strip()
    b = (f.get_subfields("b") or [""])[0].strip()
    if not b:
        s = a
    elif not a:
        s = b.lstrip(", ")
    elif b.startswith(","):
        s = a + b
    else:
        s = a + ", " + b
    return clean_isbd(s) or None


def expected_unimarc(rec):
    f200 = first(rec, "200")
    title = None
    if f200 is not None:
        t = " ; ".join(x for x in (clean_isbd(v) for v in f200.get_subfields("a")) if x)
        for e in (clean_isbd(v) for v in f200.get_subfields("e")):
            if e:
                t += " : " + e
        title = t or None
    main = first(rec, "700", "701", "710", "711")
    a100 = (first(rec, "100").get_subfields("a") or [""])[0] if first(rec, "100") else ""
    y = a100[9:13]
    if len(y) == 4 and all(c in "0123456789" for c in y):
        year = int(y)
    else:
        pub = first(rec, "210", "214")
        d = pub.get_subfields("d") if pub is not None else []
        year = first_year(d[0]) if d else None
    return {
        "control_number": control_number(rec),
        "title": title,
        "main_author": unimarc_name(main) if main is not None else None,
        "isbn13": unique(isbn13(v) for f in rec.get_fields("010") for v in f.get_subfields("a")),
        "year": year,
    }


def expected(rec):
    unimarc = not rec.get_fields("245") and rec.get_fields("200")
    return expected_unimarc(rec) if unimarc else expected_marc21(rec)


# ---------------------------------------------------------------- the two sides


def ours(path):
    cmd = os.environ.get("MARC_DUMP_BIN")
    argv = [cmd, str(path)] if cmd else ["cargo", "run", "-q", "-p", "marc", "--example", "marcdump_json", "--", str(path)]
    out = subprocess.run(argv, cwd=ROOT, check=True, capture_output=True, text=True)
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


def theirs(path, force_utf8):
    with open(path, "rb") as fh:
        reader = pymarc.MARCReader(fh, to_unicode=True, force_utf8=force_utf8, permissive=True, hide_utf8_warnings=True)
        return [r for r in reader if r is not None]


KEYS = ("control_number", "title", "main_author", "isbn13", "year")
SUMMARY = {}


@pytest.fixture(scope="module", autouse=True)
def report():
    yield
    total = sum(n for n, _ in SUMMARY.values())
    agree = sum(a for _, a in SUMMARY.values())
    print(f"\npymarc cross-check: {agree}/{total} records agree on {', '.join(KEYS)}")
    for name, (n, a) in SUMMARY.items():
        print(f"  {name}: {a}/{n}")


@pytest.mark.parametrize("name", FILES)
def test_agrees_with_pymarc(name):
    path = MARC_DIR / name
    if not path.exists():
        pytest.fail(f"missing test data {path} (the repository's tests/data/marc)")
    our = ours(path)
    errors = [o for o in our if "error" in o]
    assert not errors, errors
    their = theirs(path, name in FORCE_UTF8)
    assert len(our) == len(their), f"{name}: {len(our)} records (ours) vs {len(their)} (pymarc)"
    mismatches = []
    for i, (o, rec) in enumerate(zip(our, their)):
        want = expected(rec)
        got = {k: o.get(k) for k in KEYS}
        if got != want:
            mismatches.append((i, o["offset"], {k: (got[k], want[k]) for k in KEYS if got[k] != want[k]}))
    SUMMARY[name] = (len(their), len(their) - len(mismatches))
    assert not mismatches, f"{len(mismatches)} mismatches, first: {mismatches[:5]}"
