"""`wxlib harvest` against a real OAI-PMH provider (tests/peers/oai: pyoai over the test MARC
records, small pages so a harvest follows many resumption tokens): a full harvest, an incremental
one after deletions, updates and additions, a harvest killed mid-list and run again, a broken
record, the provider down, 503 with Retry-After, an expired resumption token; and sickle, a second
harvester, agreeing with what wxlib harvested."""
import datetime as dt
import io
import re
import signal
import sqlite3
import subprocess
import sys
import time

import pymarc
import pytest
import requests
from sickle import Sickle

from conftest import BIN, MARC, ROOT, Server, psql

sys.path.insert(0, str(ROOT / "tests" / "peers" / "oai"))
from oai_provider import Provider  # noqa: E402

PAGE = 7
HOURS_AGO = dt.datetime.now(dt.timezone.utc).replace(microsecond=0, tzinfo=None) - dt.timedelta(hours=2)


def first_records(path, n):
    out = []
    with open(path, "rb") as f:
        for r in pymarc.MARCReader(f, to_unicode=True, force_utf8=True, utf8_handling="replace"):
            if r is not None and r.get_fields("001"):
                out.append(r)
            if len(out) == n:
                break
    return out


@pytest.fixture
def provider():
    """120 English and 40 Chinese LC records, all changed two hours ago (older than the
    harvest's overlap, so an incremental harvest fetches only what changes after it)."""
    p = Provider(page_size=PAGE)
    for r in first_records(MARC / "lc-books2016-en-4000.mrc", 120) + first_records(MARC / "lc-books2016-zh-4000.mrc", 40):
        p.repo.put(r, HOURS_AGO)
    p.start()
    yield p
    p.stop()


def config(tmp_path, url, extra="", storage=""):
    """A configuration for the command alone (no server)."""
    d = tmp_path / "node"
    d.mkdir(exist_ok=True)
    cfg = d / "wxlib.toml"
    cfg.write_text(
        f"""
[server]
data_dir = "{d / 'data'}"
public_url = "http://127.0.0.1:1"
[wechat]
app_id = "wx1234567890abcdef"
app_secret = "secret"
token = "libtoken"
encoding_aes_key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
[storage]
url = "{storage}"
[catalog.harvest]
url = "{url}"
interval_secs = 0
{extra}
"""
    )
    return cfg


def harvest(cfg, *args, check=True):
    out = subprocess.run([BIN, "harvest", "--config", str(cfg), *args], capture_output=True, text=True, timeout=300)
    if check:
        assert out.returncode == 0, out.stdout + out.stderr
    return out


def counts(output):
    m = re.search(r"harvest complete: added (\d+), updated (\d+), deleted (\d+), skipped (\d+)", output)
    assert m, output
    return tuple(int(x) for x in m.groups())


def db(cfg):
    return sqlite3.connect(cfg.parent / "data" / "wxlib.db")


def live_ids(cfg):
    with db(cfg) as c:
        return sorted(r[0] for r in c.execute("SELECT id FROM catalog_records WHERE deleted = 0"))


def provider_ids(p):
    return sorted(e.record_id for e in p.repo.entries.values() if not e.deleted)


def list_requests(p):
    return [q for q in p.requests if q.get("verb") == "ListRecords"]


def test_a_full_harvest_brings_every_record_and_it_is_searchable(tmp_path, provider):
    server = Server(tmp_path, extra_config=f'[catalog.harvest]\nurl = "{provider.url}"\ninterval_secs = 0\n')
    try:
        out = harvest(server.config)
        assert counts(out.stdout) == (160, 0, 0, 0), out.stdout
        assert live_ids(server.config) == provider_ids(provider)
        lists = list_requests(provider)
        # 160 records in pages of 7: one first request, then a resumption token per page.
        assert len(lists) == 23 and "from" not in lists[0] and all("resumptionToken" in q for q in lists[1:])
        assert [q["verb"] for q in provider.requests[:1]] == ["Identify"]
        # Into the search index through the server's catalog sync, like an import.
        entry = provider.repo.entries[provider_ids(provider)[0]]
        record = pymarc.parse_xml_to_array(io.BytesIO(entry.xml))[0]
        words = " ".join(record.title.split()[:3]).strip(" /:;,.")
        for _ in range(100):
            hits = requests.get(server.url + "/api/v1/search", params={"q": words, "field": "title"}, timeout=5).json()["hits"]
            if any(h["id"] == entry.record_id for h in hits):
                break
            time.sleep(0.1)
        else:
            pytest.fail(f"{entry.record_id} ({words}) not found: {hits}")
    finally:
        server.stop()


def test_an_incremental_harvest_fetches_only_changes_and_sickle_agrees(tmp_path, provider):
    cfg = config(tmp_path, provider.url)
    assert counts(harvest(cfg).stdout) == (160, 0, 0, 0)
    ids = provider_ids(provider)
    gone, changed = ids[:3], ids[3:5]
    for rid in gone:
        provider.repo.delete(rid)
    for rid in changed:
        e = provider.repo.entries[rid]
        record = pymarc.parse_xml_to_array(io.BytesIO(e.xml))[0]
        record.remove_fields("245")
        record.add_field(pymarc.Field(tag="245", indicators=["0", "0"], subfields=[pymarc.Subfield("a", f"Changed title {rid}")]))
        provider.repo.put(record)
    new = first_records(MARC / "lc-books2016-en-4000.mrc", 122)[120:]
    for r in new:
        provider.repo.put(r)
    provider.requests.clear()

    out = harvest(cfg)
    assert counts(out.stdout) == (2, 2, 3, 0), out.stdout
    lists = list_requests(provider)
    # Only the 7 changed records: one page, asked `from` the last harvest (less the overlap).
    assert len(lists) == 1 and "from" in lists[0], lists
    assert live_ids(cfg) == provider_ids(provider)
    with db(cfg) as c:
        titles = dict(c.execute("SELECT id, title FROM catalog_records WHERE id IN (?, ?)", changed))
        assert titles == {rid: f"Changed title {rid}" for rid in changed}
        assert sorted(r[0] for r in c.execute("SELECT id FROM catalog_records WHERE deleted = 1")) == sorted(gone)
        mapped = dict(c.execute("SELECT identifier, record_id FROM harvest_ids"))

    # Run again at once: the records changed within the overlap (a minute before the checkpoint)
    # come again, as updates of the same records, never doubles.
    assert counts(harvest(cfg).stdout) == (0, 4, 0, 0)
    assert live_ids(cfg) == provider_ids(provider)
    # Nothing changed since (the provider's records all older than the overlap): noRecordsMatch.
    for rid in list(provider.repo.entries):
        provider.repo.touch(rid, HOURS_AGO)
    provider.requests.clear()
    assert counts(harvest(cfg).stdout) == (0, 0, 0, 0)
    assert len(list_requests(provider)) == 1

    # A second harvester over the same provider sees the same live identifiers and deletions.
    sickle = Sickle(provider.url)
    headers = list(sickle.ListIdentifiers(metadataPrefix="marc21"))
    assert sorted(h.identifier for h in headers if not h.deleted) == sorted(mapped)
    assert sorted(h.identifier for h in headers if h.deleted) == sorted(provider.repo.identifier(r) for r in gone)
    assert all(mapped[provider.repo.identifier(r)] == r for r in provider_ids(provider))
    record = next(iter(sickle.ListRecords(metadataPrefix="marc21", set="zh")))
    assert record.header.identifier in mapped


def wait_for_saved_token(cfg, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with db(cfg) as c:
                row = c.execute("SELECT resume_token FROM harvest_state").fetchone()
                pages = c.execute("SELECT MAX(pages) FROM harvest_runs").fetchone()[0]
            if row and row[0] and pages and pages >= 4:
                return
        except sqlite3.OperationalError:
            pass
        time.sleep(0.05)
    pytest.fail("the harvest saved no resumption point")


def start_and_kill(cfg, provider, saved=None, ids=None):
    provider.delay = 0.2
    proc = subprocess.Popen([BIN, "harvest", "--config", str(cfg)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    (saved or (lambda: wait_for_saved_token(cfg)))()
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    provider.delay = 0
    partial = (ids or (lambda: live_ids(cfg)))()
    assert 0 < len(partial) < 160
    return partial


def test_a_killed_harvest_resumes_with_nothing_lost_or_doubled(tmp_path, provider):
    cfg = config(tmp_path, provider.url)
    partial = start_and_kill(cfg, provider)
    provider.requests.clear()
    out = harvest(cfg)
    assert "resumed an interrupted harvest" in out.stdout
    # Resumed from the saved token, not listed again.
    assert "resumptionToken" in list_requests(provider)[0]
    added, updated, deleted, skipped = counts(out.stdout)
    assert added + len(partial) == 160 and deleted == 0 and skipped == 0
    assert live_ids(cfg) == provider_ids(provider)
    with db(cfg) as c:
        assert c.execute("SELECT COUNT(*) FROM catalog_records").fetchone()[0] == 160
        outcomes = [r[0] for r in c.execute("SELECT outcome FROM harvest_runs ORDER BY id")]
    assert outcomes == ["interrupted", "complete"]


def test_an_expired_resumption_token_lists_again_from_the_checkpoint(tmp_path, provider):
    cfg = config(tmp_path, provider.url)
    start_and_kill(cfg, provider)
    provider.expire_tokens()
    provider.requests.clear()
    out = harvest(cfg)
    assert "listed again 1 time(s) after badResumptionToken" in out.stdout
    lists = list_requests(provider)
    assert "resumptionToken" in lists[0] and "resumptionToken" not in lists[1] and lists[1]["metadataPrefix"] == "marc21"
    assert live_ids(cfg) == provider_ids(provider)


def test_a_broken_record_is_skipped_and_named_and_the_rest_go_in(tmp_path, provider):
    ids = provider_ids(provider)
    provider.break_record(ids[10])
    provider.repo.put_raw("no-001", b'<record xmlns="http://www.loc.gov/MARC21/slim"><leader>00000nam a2200000 a 4500</leader>'
                          b'<datafield tag="245" ind1="0" ind2="0"><subfield code="a">No control number</subfield></datafield></record>', HOURS_AGO)
    cfg = config(tmp_path, provider.url)
    out = harvest(cfg)
    assert counts(out.stdout) == (159, 0, 0, 2), out.stdout
    assert re.search(rf"skipped oai:wxlib-test:{ids[10]}: .*malformed XML", out.stdout), out.stdout
    assert "skipped oai:wxlib-test:no-001: no control number (001)" in out.stdout
    assert f"oai:wxlib-test:{ids[10]}" in out.stderr  # and in the log
    assert live_ids(cfg) == sorted(set(ids) - {ids[10]})
    with db(cfg) as c:
        assert sorted(r[0] for r in c.execute("SELECT identifier FROM harvest_skipped")) == sorted(
            [f"oai:wxlib-test:{ids[10]}", "oai:wxlib-test:no-001"])


def test_the_provider_down_fails_the_run_and_keeps_the_catalog(tmp_path, provider):
    cfg = config(tmp_path, provider.url, "max_attempts = 2\n")
    harvest(cfg)
    before = live_ids(cfg)
    provider.stop()
    out = harvest(cfg, check=False)
    assert out.returncode != 0
    assert "could not be harvested" in out.stderr and provider.url in out.stderr and "after 2 attempt(s)" in out.stderr, out.stderr
    assert live_ids(cfg) == before
    with db(cfg) as c:
        assert c.execute("SELECT outcome FROM harvest_runs ORDER BY id DESC").fetchone()[0] == "failed"
    # And a 503 that never ends is the same.
    provider2 = Provider(page_size=PAGE).start()
    try:
        provider2.fail_next(10, status=503, retry_after=0)
        (tmp_path / "b").mkdir()
        out = harvest(config(tmp_path / "b", provider2.url, "max_attempts = 2\n"), check=False)
        assert out.returncode != 0 and "HTTP 503" in out.stderr, out.stderr
    finally:
        provider2.stop()


def test_503_with_retry_after_is_honoured(tmp_path, provider):
    cfg = config(tmp_path, provider.url)
    provider.fail_next(2, status=503, retry_after=1)
    out = harvest(cfg)
    assert counts(out.stdout)[0] == 160
    t = provider.request_times
    # The two refusals, each waited out for a second, then the Identify that was asked.
    assert t[1] - t[0] >= 0.95 and t[2] - t[1] >= 0.95, t[:3]
    assert [q.get("verb") for q in provider.requests[:3]] == ["Identify"] * 3


def test_on_postgresql_a_killed_harvest_resumes_and_deletions_follow(tmp_path, provider, pg_database):
    url, name = pg_database
    cfg = config(tmp_path, provider.url, storage=f"{url}/{name}")

    def ids():
        return sorted(psql(url, name, "SELECT id FROM catalog_records WHERE deleted = 0").split())

    def saved():
        for _ in range(600):
            try:
                if psql(url, name, "SELECT COUNT(*) FROM harvest_state WHERE resume_token IS NOT NULL") == "1" and int(
                        psql(url, name, "SELECT COALESCE(MAX(pages), 0) FROM harvest_runs")) >= 4:
                    return
            except subprocess.CalledProcessError:
                pass  # not migrated yet
            time.sleep(0.05)
        pytest.fail("the harvest saved no resumption point")

    partial = start_and_kill(cfg, provider, saved, ids)
    out = harvest(cfg)
    assert "resumed an interrupted harvest" in out.stdout
    assert counts(out.stdout)[0] + len(partial) == 160
    assert ids() == provider_ids(provider)
    assert psql(url, name, "SELECT COUNT(*) FROM catalog_records") == "160"
    gone = provider_ids(provider)[:2]
    for rid in gone:
        provider.repo.delete(rid)
    assert counts(harvest(cfg).stdout)[2] == 2
    assert ids() == provider_ids(provider)
    assert psql(url, name, "SELECT outcome FROM harvest_runs ORDER BY id") == "interrupted\ncomplete\ncomplete"


def sign_in(server):
    out = subprocess.run([BIN, "create-admin", "--config", str(server.config), "--password-stdin", "admin1"], input="admin-pass-2026\n",
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    s = requests.Session()
    page = s.get(server.url + "/console/login", timeout=10).text
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
    r = s.post(server.url + "/console/login", data={"username": "admin1", "password": "admin-pass-2026", "csrf": csrf, "next": "/console", "lang": "en"}, timeout=10)
    assert r.ok and "sign-out" in r.text, r.text
    return s


def wait_until(what, check, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except sqlite3.OperationalError:
            pass
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def runs(cfg):
    with db(cfg) as c:
        return c.execute("SELECT outcome, added, updated, deleted, skipped FROM harvest_runs ORDER BY id").fetchall()


def test_the_server_harvests_on_its_interval_and_the_console_shows_it(tmp_path, provider):
    ids = provider_ids(provider)
    provider.break_record(ids[5])
    server = Server(tmp_path, extra_config=f'[catalog.harvest]\nurl = "{provider.url}"\ninterval_secs = 2\n')
    try:
        wait_until("the first harvest", lambda: runs(server.config)[:1] == [("complete", 159, 0, 0, 1)])
        assert live_ids(server.config) == sorted(set(ids) - {ids[5]})
        # On its interval the server harvests again, and a new record comes in.
        new = first_records(MARC / "lc-books2016-en-4000.mrc", 121)[120]
        provider.repo.put(new)
        wait_until("the new record", lambda: new["001"].data.strip() in live_ids(server.config))
        assert all(q["verb"] != "ListRecords" or "from" in q or "resumptionToken" in q for q in provider.requests[24:])
        s = sign_in(server)
        page = s.get(server.url + "/console/harvest", timeout=10).text
        assert provider.url in page and 'data-outcome="complete"' in page
        assert f"oai:wxlib-test:{ids[5]}" in page and "malformed XML" in page, page
        assert 'id="harvest-next"' in page and 'id="harvest-now"' in page
        metrics = server.metrics()
        assert re.search(r'wxlib_harvest_runs_total\{outcome="complete"\} [1-9]', metrics), metrics
        assert re.search(r'wxlib_harvest_records_total\{change="skipped"\} [1-9]', metrics)
    finally:
        server.stop()


def test_harvest_now_from_the_console_for_admins_with_csrf(tmp_path, provider):
    server = Server(tmp_path, extra_config=f'[catalog.harvest]\nurl = "{provider.url}"\ninterval_secs = 0\n')
    try:
        s = sign_in(server)
        page = s.get(server.url + "/console/harvest", timeout=10).text
        assert "on demand only" in page and "No runs yet" in page
        # Without the CSRF token: refused, nothing asked.
        assert s.post(server.url + "/console/harvest/now", data={}, timeout=10, allow_redirects=False).status_code == 403
        time.sleep(6)  # longer than the job's look
        assert runs(server.config) == []
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
        r = s.post(server.url + "/console/harvest/now", data={"csrf": csrf}, timeout=10, allow_redirects=False)
        assert r.status_code in (302, 303), r.text
        wait_until("the harvest asked for", lambda: runs(server.config) == [("complete", 160, 0, 0, 0)])
        with db(server.config) as c:
            assert c.execute("SELECT COUNT(*) FROM audit_log WHERE action = 'catalog.harvest_now'").fetchone()[0] == 1
            assert c.execute("SELECT requested_at FROM harvest_state").fetchone()[0] is None
        # Once: the request is answered, and with no interval no other run follows.
        time.sleep(6)
        assert len(runs(server.config)) == 1
    finally:
        server.stop()


def test_on_postgresql_two_nodes_harvest_one_at_a_time(tmp_path, provider, pg_database):
    url, name = pg_database
    provider.delay = 0.08  # a run takes about two seconds
    extra = f'[catalog.harvest]\nurl = "{provider.url}"\ninterval_secs = 1\n'
    a = Server(tmp_path, storage_url=f"{url}/{name}", extra_config=extra)
    b = Server(tmp_path, storage_url=f"{url}/{name}", extra_config=extra)
    try:
        def done():
            return int(psql(url, name, "SELECT COUNT(*) FROM harvest_runs WHERE outcome = 'complete'")) >= 4
        wait_until("four harvests", done, timeout=60)
        rows = [tuple(map(int, line.split("|"))) for line in
                psql(url, name, "SELECT started_at, finished_at FROM harvest_runs WHERE finished_at IS NOT NULL ORDER BY id").splitlines()]
        # Each run started after the one before it ended: never two at once.
        assert all(later[0] >= earlier[1] for earlier, later in zip(rows, rows[1:])), rows
        assert psql(url, name, "SELECT COUNT(*) FROM catalog_records WHERE deleted = 0") == "160"
        # Both nodes' indexes follow the harvest.
        for server in (a, b):
            wait_until("the index", lambda: requests.get(server.url + "/api/v1/search", params={"q": "the"}, timeout=5).json()["total"] > 10)
    finally:
        a.stop()
        b.stop()
