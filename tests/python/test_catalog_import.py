"""`wxlib import` on real and damaged files: idempotent re-import by control number, deletes, and
damage (truncated file, junk between records, a bad leader) reported with position and reason
while the good records still load."""
import re
import sqlite3
import subprocess

from conftest import BIN, MARC, Server


def run_import(server, *files):
    out = subprocess.run([BIN, "import", "--config", str(server.config), *map(str, files)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def totals(output):
    m = re.search(r"total: read (\d+), added (\d+), updated (\d+), deleted (\d+), skipped (\d+)", output)
    return tuple(int(x) for x in m.groups())


def records(path):
    data = path.read_bytes()
    out, start = [], 0
    while start < len(data):
        end = data.index(b"\x1d", start) + 1
        out.append(data[start:end])
        start = end
    return out


def test_damaged_input_is_reported_and_good_records_load(tmp_path):
    recs = records(MARC / "marc-record-camel-marc8.mrc")
    assert len(recs) == 10
    bad_leader = b"XXXXXnam  22XXXXX   4500" + recs[3][24:]
    damaged = recs[0] + recs[1] + b"\n\x00garbage here" + recs[2] + bad_leader + b"".join(recs[4:9]) + recs[9][: len(recs[9]) // 2]
    f = tmp_path / "damaged.mrc"
    f.write_bytes(damaged)
    s = Server.__new__(Server)  # config only; no server process needed for import
    s.dir = tmp_path
    s.config = tmp_path / "wxlib.toml"
    s.config.write_text(f'[server]\ndata_dir = "{tmp_path / "data"}"\n[wechat]\ntoken = "libtoken"\n')
    out = run_import(s, f)
    read, added, updated, deleted, skipped = totals(out)
    assert added == 8, out  # records 0, 1, 2 and 4-8; 3 (bad leader) and 9 (truncated) are skipped
    assert skipped >= 2, out
    assert re.search(r"skipped record #\d+ at byte \d+: .*(junk|leader)", out, re.I), out
    assert re.search(r"skipped record #\d+ at byte \d+: .*truncat", out, re.I), out


def test_reimport_is_idempotent_and_deletes_apply(tmp_path):
    s = Server.__new__(Server)
    s.dir = tmp_path
    s.config = tmp_path / "wxlib.toml"
    s.config.write_text(f'[server]\ndata_dir = "{tmp_path / "data"}"\n[wechat]\ntoken = "libtoken"\n')
    f = MARC / "zebra-sample-marc21-marc8.mrc"
    first = totals(run_import(s, f))
    again = totals(run_import(s, f))
    assert first[1] > 0 and again[1] == 0 and again[2] == first[1], (first, again)
    # A record marked deleted in leader/05 deletes it.
    rec = records(MARC / "marc-record-camel-marc8.mrc")[0]
    run_import(s, MARC / "marc-record-camel-marc8.mrc")
    deleted = rec[:5] + b"d" + rec[6:]
    g = tmp_path / "delete.mrc"
    g.write_bytes(deleted)
    assert totals(run_import(s, g))[3] == 1
    db = sqlite3.connect(tmp_path / "data" / "wxlib.db")
    control = rec[rec.index(b"\x1e") + 1 :].split(b"\x1e")[0].decode().strip()
    assert db.execute("SELECT deleted FROM catalog_records WHERE id = ?", (control,)).fetchone() == (1,)
