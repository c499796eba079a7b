#!/usr/bin/env python3
"""Checks a wxlib lucky draw from its public data alone, independently of wxlib's code.

Usage: verify_draw.py URL-or-FILE   (the draw's /draws/{id}.json)

Checks that SHA-256(seed) equals the commitment, that the commitment was published before the
entries froze, recomputes the winners from the seed and the entry list with the published
algorithm, and prints {"ok": bool, "problems": [...], "digest": ..., "winners": [...]}.
Exits 1 when anything does not match.
"""
import hashlib
import json
import sys
import urllib.request


def sha256_hex(s: str) -> str:
    return hashlib.sha256(s.encode()).hexdigest()


def pick_winners(seed: str, entries: list, k: int) -> tuple:
    remaining = sorted(entries, key=lambda e: e.encode())
    digest = sha256_hex("\n".join(remaining))
    winners, i = [], 0
    while len(winners) < k and remaining:
        h = hashlib.sha256(f"{seed}:{digest}:{i}".encode()).digest()
        n = int.from_bytes(h[:8], "big")
        pick = remaining[n % len(remaining)]
        person = pick.split(":")[0]
        remaining = [e for e in remaining if e.split(":")[0] != person]
        winners.append(pick)
        i += 1
    return digest, winners


def main() -> int:
    src = sys.argv[1]
    if src.startswith("http://") or src.startswith("https://"):
        with urllib.request.urlopen(src) as r:
            d = json.load(r)
    else:
        with open(src, encoding="utf-8") as f:
            d = json.load(f)
    problems = []
    seed = d.get("seed")
    if not seed:
        problems.append("not drawn yet: no seed")
        print(json.dumps({"ok": False, "problems": problems}))
        return 1
    if sha256_hex(seed) != d["commitment"]:
        problems.append("SHA-256(seed) is not the commitment")
    if not d["committed_at"] < d["freeze_at"]:
        problems.append("the commitment was not published before the entries froze")
    if d.get("drawn_at") is None or d["drawn_at"] < d["freeze_at"]:
        problems.append("drawn before the entries froze")
    digest, winners = pick_winners(seed, d["entries"], d["winners_wanted"])
    if digest != d.get("entries_digest"):
        problems.append("the entry list does not match the published digest")
    if winners != d["winners"]:
        problems.append("the recomputed winners differ from the published ones")
    print(json.dumps({"ok": not problems, "problems": problems, "digest": digest, "winners": winners}, ensure_ascii=False))
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
