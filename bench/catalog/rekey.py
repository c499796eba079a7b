"""K copies of an ISO 2709 file, each copy's records re-keyed: a catalog K times as large whose term
statistics are the real records'.

Copy 0 is the input byte for byte; in copy i (1 <= i < K) every record's 001 (control number, the
key wxlib imports by) becomes `<original 001, trimmed>-c<i>`, and the leader's record length, base
address and the directory's lengths and offsets are rewritten to match. Nothing else changes (035,
010, ISBNs and every other field stay as they are). A record whose directory cannot be read is
written unchanged, so the importer meets the same damage in every copy; those are counted.

The output is streamed: the input is read in chunks once per copy, never held whole in memory, and
written to OUT.tmp, renamed to OUT when complete (so an interrupted run leaves no half file that a
later run would take for the cache).

usage: rekey.py IN K OUT      prints one JSON line: {"records", "copies", "rekeyed", "verbatim", "bytes", "seconds"}
"""

import json
import os
import sys
import time

RT = b"\x1d"  # record terminator
FT = b"\x1e"  # field terminator
CHUNK = 8 << 20


class Unreadable(Exception):
    pass


def records(path):
    """Each record of the file, terminator included (a trailing fragment without one too)."""
    rest = b""
    with open(path, "rb") as f:
        while True:
            chunk = f.read(CHUNK)
            if not chunk:
                break
            parts = (rest + chunk).split(RT)
            rest = parts.pop()
            for p in parts:
                yield p + RT
    if rest.strip():
        yield rest


def rekey(rec, suffix):
    """The record with `suffix` appended to its trimmed 001; raises Unreadable if the leader or
    directory do not parse or there is no 001."""
    if len(rec) < 25:
        raise Unreadable("shorter than a leader")
    try:
        base = int(rec[12:17])
    except ValueError:
        raise Unreadable("base address not a number") from None
    if base < 25 or base > len(rec) or rec[base - 1 : base] != FT:
        raise Unreadable("directory does not end at the base address")
    directory = rec[24 : base - 1]
    if len(directory) % 12:
        raise Unreadable("directory length not a multiple of 12")
    fields = []
    found = False
    for j in range(0, len(directory), 12):
        e = directory[j : j + 12]
        try:
            tag, length, start = e[:3], int(e[3:7]), int(e[7:12])
        except ValueError:
            raise Unreadable("directory entry not numeric") from None
        data = rec[base + start : base + start + length]
        if len(data) != length:
            raise Unreadable("field runs past the record")
        if tag == b"001" and not found:
            value = data[:-1] if data.endswith(FT) else data
            data = value.strip() + suffix + FT
            found = True
        fields.append((tag, data))
    if not found:
        raise Unreadable("no 001")
    out_dir, out_data, pos = [], [], 0
    for tag, data in fields:
        if len(data) > 9999 or pos > 99999:
            raise Unreadable("re-keyed field does not fit the directory")
        out_dir.append(b"%s%04d%05d" % (tag, len(data), pos))
        out_data.append(data)
        pos += len(data)
    body_dir = b"".join(out_dir) + FT
    new_base = 24 + len(body_dir)
    total = new_base + pos + 1
    if total > 99999:
        raise Unreadable("re-keyed record longer than ISO 2709 allows")
    leader = b"%05d" % total + rec[5:12] + b"%05d" % new_base + rec[17:24]
    return leader + body_dir + b"".join(out_data) + RT


def main():
    src, copies, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    if copies < 1:
        sys.exit("K must be at least 1")
    t0 = time.time()
    tmp = out + ".tmp"
    n = rekeyed = verbatim = written = 0
    with open(tmp, "wb", buffering=CHUNK) as w:
        for copy in range(copies):
            suffix = b"-c%d" % copy
            for rec in records(src):
                if copy == 0:
                    w.write(rec)
                    written += len(rec)
                    n += 1
                    continue
                try:
                    rec = rekey(rec, suffix)
                    rekeyed += 1
                except Unreadable:
                    verbatim += 1
                w.write(rec)
                written += len(rec)
            print(f"  copy {copy + 1}/{copies} written ({time.time() - t0:.0f} s)", file=sys.stderr)
    os.replace(tmp, out)
    print(json.dumps({"records": n * copies, "copies": copies, "rekeyed": rekeyed, "verbatim": verbatim, "bytes": written,
                      "seconds": round(time.time() - t0, 1)}))


if __name__ == "__main__":
    main()
