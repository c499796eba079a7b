"""Several nodes behind nginx while the library's own systems fail (issue 18 item 4): its OAI-PMH
provider's harvest loses the node that runs it, and its SIP2 library system goes away and comes
back.

The cluster is test_nodes.py's: nginx running deploy/nginx/wxlib.conf in front of `wxlib serve`
nodes on one fresh PostgreSQL database, WeChat's API in `wxlib simulator` (a process of its own),
the test playing WeChat's servers with their retries (`deliver`), and a mixed load (callbacks from
a new reader each, OPAC searches, a console page) running through nginx while the fault lands;
afterwards every message of it answered exactly once (`answered_once`), every page 200.

- A node SIGKILLed mid harvest: three nodes harvest the pyoai provider (tests/peers/oai, 150
  records in pages of 5, each page slowed) on a 15-minute interval under the `catalog_harvest`
  lease (so a survivor resumes because the dead node's run is left `running`, not because the next
  interval came).
  The test holds the provider's first ListRecords until the load runs, lets a few pages commit,
  finds the node that harvests (the one with a connection open to the provider) and kills it.
  A survivor resumes the list from the saved resumption token within seconds and finishes it;
  the dead run is marked interrupted; every provider record is in the catalog and the
  identifier map once (added once across the two runs, never updated, none missing), and a
  record of the last page — harvested after the kill — is found once by each survivor's search.
- The SIP2 library system (tests/peers/sip2, pysip2, the records' 952 barcodes known to it, a
  reader bound to a card) SIGKILLed under load behind nginx: callbacks are still answered within
  WeChat's 5 s, never with a 5xx — 借阅 with "the library system cannot be reached" (or "slow,
  the answer follows", and then it does, once), a search with the last known availability marked
  "状态更新于 …", never a fresh 可借 —; each node's /readyz says `degraded` with the library
  system's reason (200, the other checks ok) and /healthz stays ok. Started again on the same
  port with its data, each node answers fresh again once its circuit breaker lets a probe through
  (5 × timeout_ms) and the TTL has run, and /readyz is `ready` again.
"""
import io
import os
import re
import threading
import time

import pymarc
import pytest
import requests

from conftest import MARC, WeChat, message
from test_circulation_live import (
    READER_CARD, READER_PW, TTL, Sip2Library, api_items, assert_stale, bind, sip2_config, until, write_catalog,
)
from test_harvest import HOURS_AGO, Provider, first_records, provider_ids
from test_nodes import Cluster, Load, answered_once, control, deliver, inbox

CALLBACK_LIMIT = 5.0  # WeChat's limit for an answer
HARVESTED = 150
PAGE = 5
PAGE_DELAY = 0.2  # seconds per ListRecords answer: the 30 pages take 6 s or more
INTERVAL = 900  # [catalog.harvest] interval_secs
# A survivor takes an interrupted harvest over as it takes other work over (a mass send: within
# seconds): at its next look (every 5 s, catalog::harvest::job::LOOK) once the dead node's lease
# has run out. Room to spare for a loaded machine.
TAKEOVER = 20
LOANS = "张三，您当前借阅 3 册"
DOWN = "图书馆系统暂时无法连接"
SLOW = "图书馆系统响应较慢，结果稍后会通过消息发送给您"
BREAKER_OPEN = 5  # seconds: 5 × circulation.sip2.timeout_ms (1 s in sip2_config)


# ---------------------------------------------------------------------------------------------
# A node killed mid harvest.


@pytest.fixture
def slow_provider():
    """150 English LC records (none of them in the cluster's imported Chinese catalog), changed
    two hours ago, in pages of 5, each ListRecords answer slowed; and a gate: ListRecords waits
    until `gate` is set, so the harvest starts when the test is ready."""
    p = Provider(page_size=PAGE)
    for r in first_records(MARC / "lc-books2016-en-4000.mrc", HARVESTED):
        p.repo.put(r, HOURS_AGO)
    p.delay = PAGE_DELAY
    p.gate = threading.Event()
    handler = p.httpd.RequestHandlerClass

    class Gated(handler):
        def do_GET(self):
            if "verb=ListRecords" in self.path:
                p.gate.wait(120)
            try:
                super().do_GET()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the harvester was killed waiting for this page

    p.httpd.RequestHandlerClass = Gated
    p.start()
    yield p
    p.gate.set()
    p.stop()


def connected_to(pid, port):
    """Whether process `pid` holds an established TCP connection to 127.0.0.1:`port`."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[len("socket:["):-1])
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.read().splitlines()[1:]:
                fields = line.split()
                if int(fields[2].rsplit(":", 1)[1], 16) == port and fields[3] == "01" and fields[9] in inodes:
                    return True
    return False


def title_words(provider, rid):
    record = pymarc.parse_xml_to_array(io.BytesIO(provider.repo.entries[rid].xml))[0]
    return " ".join(record.title.split()[:3]).strip(" /:;,.")


def test_a_node_killed_mid_harvest_is_finished_by_a_survivor_with_nothing_lost_or_doubled(tmp_path, slow_provider):
    p = slow_provider
    c = Cluster(tmp_path, extra_config=f'[catalog.harvest]\nurl = "{p.url}"\ninterval_secs = {INTERVAL}\n')
    load = None
    try:
        def catalog_ids():
            return set(c.sql("SELECT id FROM catalog_records WHERE deleted = 0").split())

        imported = catalog_ids()
        wanted = set(provider_ids(p))
        assert len(wanted) == HARVESTED and not wanted & imported, "the provider's records must be new to the catalog"
        # One node took the lease and waits for its first page; the others found it taken.
        until(lambda: c.sql("SELECT COUNT(*) FROM harvest_runs WHERE outcome = 'running'") == "1", 30, "a harvest starts")
        load = Load(c, "H", callback_threads=6, page_threads=2)
        until(lambda: len(load.messages) >= 5, 30, "the load runs")
        p.gate.set()

        def pages_done():
            out = c.sql("SELECT id, pages, added FROM harvest_runs WHERE outcome = 'running'")
            return out if out and int(out.split("|")[1]) >= 5 else None

        until(pages_done, 30, "five pages harvested")
        # The harvester is the one node with a connection to the provider (the others never got
        # past the lease).
        port = p.httpd.server_address[1]

        def harvester():
            talking = [n for n in c.nodes if connected_to(n.proc.pid, port)]
            return talking[0] if len(talking) == 1 else None

        victim, _ = until(harvester, 10, "one node talks to the provider")
        c.kill(victim)
        killed = time.monotonic()
        asked_before = len(p.requests)
        run_id, pages = map(int, c.sql("SELECT id, pages FROM harvest_runs WHERE outcome = 'running'").split("|"))
        at_kill = catalog_ids()
        assert pages < HARVESTED // PAGE, f"killed too late: {pages} pages"
        survivors = [n for n in c.nodes if n is not victim]

        # A survivor resumes the list where the dead node's last committed page left it.
        def resumed():
            return next((i for i in range(asked_before, len(p.requests)) if p.requests[i].get("verb") == "ListRecords"), None)

        try:
            until(lambda: resumed() is not None, TAKEOVER, "a survivor resumes the harvest")
        except AssertionError as e:
            lease = c.sql("SELECT expires_at - EXTRACT(EPOCH FROM now())::bigint FROM leases WHERE name = 'catalog_harvest'")
            raise AssertionError(f"{e}; the dead node's catalog_harvest lease runs out only in {lease} s") from None
        first = p.requests[resumed()]
        resumed_after = p.request_times[resumed()] - killed
        assert "resumptionToken" in first, f"listed again from the start: {first}"
        until(lambda: c.sql(f"SELECT COUNT(*) FROM harvest_runs WHERE id > {run_id} AND outcome = 'complete'") != "0",
              TAKEOVER + 30, "the survivor finishes the harvest")
        finished_after = time.monotonic() - killed
        load.stop()

        runs = [line.split("|") for line in
                c.sql("SELECT id, outcome, pages, added, updated, deleted, skipped FROM harvest_runs ORDER BY id").splitlines()]
        # The dead node's run: interrupted after its committed pages; the survivor's: the rest
        # of the list, each record added once, none updated (none fetched twice).
        victim_pages = int(runs[0][2])
        assert runs[0][:2] == [str(run_id), "interrupted"] and runs[0][3:] == [str(victim_pages * PAGE), "0", "0", "0"], runs
        assert runs[1][1:] == ["complete", str(HARVESTED // PAGE - victim_pages), str(HARVESTED - victim_pages * PAGE), "0", "0", "0"], runs
        # Later runs on the interval find nothing new (the records are older than the overlap).
        assert all(r[1] == "complete" and r[3:] == ["0", "0", "0", "0"] for r in runs[2:]), runs
        assert any("harvest complete" in n.logs() for n in survivors)
        # Every provider record in the catalog and the identifier map, once.
        assert catalog_ids() == imported | wanted
        assert int(c.sql("SELECT COUNT(*) FROM catalog_records")) == len(imported) + HARVESTED
        mapped = dict(line.split("|") for line in c.sql("SELECT identifier, record_id FROM harvest_ids").splitlines())
        assert mapped == {p.repo.identifier(rid): rid for rid in wanted}
        # The last page came after the kill: each survivor's index has its records, once.
        last = max(wanted)
        assert last not in at_kill
        words = title_words(p, last)
        for node in survivors:
            def found():
                hits = requests.get(node.url + "/api/v1/search", params={"q": words, "field": "title"}, timeout=10).json()["hits"]
                return [h["id"] for h in hits if h["id"] == last]
            ids, _ = until(found, 30, f"node {node.port} finds {last} ({words})")
            assert ids == [last], ids

        passive, by_outbox = answered_once(c, load)
        print(f"killed after {pages} of {HARVESTED // PAGE} pages; resumed {resumed_after:.1f} s and finished {finished_after:.1f} s after "
              f"the kill; {len(load.messages)} messages ({passive} in the callback, {by_outbox} by customer-service message), "
              f"{len(load.pages)} pages")
        assert len(load.messages) > 20
        bad_pages = [x for x in load.pages if x != 200]
        assert not bad_pages, bad_pages
        assert c.sql("SELECT COUNT(*) FROM callback_dedupe WHERE state = 'running'") == "0"
    finally:
        if load:
            load.stop()
        c.close()


# ---------------------------------------------------------------------------------------------
# The library system goes away and comes back.


def text_of(c, openid, reply, before=0):
    """What the reader read: the passive reply, or (for `success`) the customer-service message
    the outbox sent after the `before` they had."""
    if reply != "success":
        return reply["Content"]
    got, _ = until(lambda: inbox(c.sim, openid, "custom")[before:], 20, f"{openid}: the answer by customer-service message")
    return got[0]["body"]["text"]["content"]


class Asking:
    """Messages the test sends itself, through nginx or straight to a node, each timed."""

    def __init__(self, c, load):
        self.c, self.load = c, load
        self.k = 0
        self.loans = []  # (reply, text read) of the bound reader's 借阅

    def search(self, base_url, title):
        """A new reader searches `title`; the message joins the load's (answered once)."""
        self.k += 1
        openid = f"oAvail{self.k:05d}".ljust(28, "0")
        control(self.c.sim, "/follow", {"openid": openid})
        control(self.c.sim, "/interaction", {"openid": openid, "kind": "message"})
        sent = time.monotonic()
        reply, attempts, secs = deliver(WeChat(base_url), message("text", f"<Content><![CDATA[{title}]]></Content>", openid=openid))
        with self.load.lock:
            self.load.messages.append((openid, reply, attempts, secs))
        assert reply is not None and attempts == 1 and secs < CALLBACK_LIMIT, (base_url, attempts, secs)
        return text_of(self.c, openid, reply), sent

    def loans_of(self, base_url, openid):
        """The bound reader asks 借阅: what they read."""
        before = len(inbox(self.c.sim, openid, "custom"))
        reply, attempts, secs = deliver(WeChat(base_url), message("text", "<Content><![CDATA[借阅]]></Content>", openid=openid))
        assert reply is not None and attempts == 1 and secs < CALLBACK_LIMIT, (base_url, attempts, secs)
        text = text_of(self.c, openid, reply, before)
        self.loans.append((reply, text))
        return text


READY = (200, {"status": "ready", "checks": {"store": "ok", "migrations": "ok", "search_index": "ok", "library_system": "ok"}})


def readyz(node):
    r = requests.get(node.url + "/readyz", timeout=10)
    return r.status_code, r.json()


def hit_ids(node, q):
    return [h["id"] for h in requests.get(node.url + "/api/v1/search", params={"q": q}, timeout=10).json()["hits"]]


def nginx_statuses(c):
    """The status of every request nginx passed on (its access log, combined format)."""
    text = (c.nginx.dir / "access.log").read_text()
    return [int(m.group(1)) for m in re.finditer(r'" (\d{3}) ', text)]


def test_the_library_system_goes_away_and_comes_back_behind_nginx(tmp_path):
    mrc, items = write_catalog(tmp_path)
    library = Sip2Library(tmp_path, items)
    c = None
    load = None
    try:
        c = Cluster(tmp_path, n=2, extra_config=sip2_config(library.port, notices_enabled=False),
                    imports=(MARC / "lc-books2016-zh-4000.mrc", mrc))
        title = "活字印刷源流考"  # live0001: LV01 and LV02, both on the shelf
        targets = [c.nginx.callback_url] + [n.url for n in c.nodes]
        for node in c.nodes:
            # Each node's index has the record, and has read its copies' statuses.
            until(lambda: "live0001" in hit_ids(node, title), 30, f"node {node.port} indexes live0001")
            its, record, _ = api_items(node)
            assert record["availability"]["fresh"] and all(it["fresh"] and it["status"] == "available" for it in its.values()), record
            assert readyz(node) == READY

        reader = "oLibBoundReader000000000001"
        control(c.sim, "/follow", {"openid": reader})
        control(c.sim, "/interaction", {"openid": reader, "kind": "message"})
        # The reader writes first, which opens the customer-service window as wxlib sees it too.
        hello, attempts, _ = deliver(c.wechat, message("text", "<Content><![CDATA[你好]]></Content>", openid=reader))
        assert hello not in (None, "success") and attempts == 1, hello
        bind(c.nodes[0], reader, READER_CARD, READER_PW)
        until(lambda: any("已绑定一卡通" in m["body"]["text"]["content"] for m in inbox(c.sim, reader, "custom")), 20, "the binding confirmation")
        told_before = len(inbox(c.sim, reader, "custom"))

        load = Load(c, "S", callback_threads=4, page_threads=2)
        ask = Asking(c, load)
        for base in targets:
            assert LOANS in ask.loans_of(base, reader)
            text, _ = ask.search(base, title)
            assert "检索结果" in text and "可借 2/2" in text and "状态更新于" not in text, text

        library.kill()
        killed = time.monotonic()
        answers = {"down": 0, "slow": 0}
        stale = 0
        degraded = set()
        # The outage lasts until each node reported it and its breaker has been open a while:
        # the whole time, every callback answers in time and honestly.
        while time.monotonic() - killed < BREAKER_OPEN + 3 or len(degraded) < len(c.nodes):
            assert time.monotonic() - killed < 40, f"only {sorted(degraded)} reported the library system degraded"
            for base in targets:
                text = ask.loans_of(base, reader)
                assert DOWN in text or SLOW in text, f"{base}: {text}"
                answers["down" if DOWN in text else "slow"] += 1
                text, sent = ask.search(base, title)
                assert "检索结果" in text, text
                if sent - killed > TTL + 0.5:  # the statuses read before the kill are past their TTL
                    assert_stale(text, f"{base}: chat search")
                    stale += 1
            for node in c.nodes:
                assert requests.get(node.url + "/healthz", timeout=10).text == "ok"
                code, body = readyz(node)
                checks = body["checks"]
                assert code == 200 and body["status"] in ("ready", "degraded"), (code, body)
                assert {k: v for k, v in checks.items() if k != "library_system"} == {"store": "ok", "migrations": "ok", "search_index": "ok"}, body
                if body["status"] == "degraded":
                    assert checks["library_system"].startswith("degraded: sip2: the library system is not answering"), body
                    degraded.add(node.port)
                else:
                    # Ready only while its report from before the kill is reused (for a second).
                    assert checks["library_system"] == "ok" and node.port not in degraded and time.monotonic() - killed < 5, body
        assert stale >= len(targets), f"only {stale} searches well into the outage"
        # Long enough for each node's circuit breaker to open (5 failures in a row).
        assert all("circuit breaker is open" in node.logs() for node in c.nodes)
        for node in c.nodes:
            its, record, _ = api_items(node)
            assert record["availability"]["fresh"] is False and not any(it["fresh"] for it in its.values()), record
            assert all(it["status"] == "available" and it["read_at"] for it in its.values()), its

        library.start()
        restarted = time.monotonic()
        back = {}
        for node in c.nodes:
            def fresh():
                its, record, _ = api_items(node)
                return record["availability"]["fresh"] and all(it["fresh"] for it in its.values())
            until(fresh, 20, f"node {node.port}: fresh statuses again")
            back[node.port] = round(time.monotonic() - restarted, 1)
            until(lambda: readyz(node) == READY, 10, f"node {node.port}: ready again")
        # The breaker lets one probe through after it has been open 5 s; then the TTL.
        assert max(back.values()) < BREAKER_OPEN + TTL + 6, back
        for base in targets:
            assert LOANS in ask.loans_of(base, reader)
            text, _ = ask.search(base, title)
            assert "可借 2/2" in text and "状态更新于" not in text, text
        load.stop()

        passive, by_outbox = answered_once(c, load)
        # The bound reader: one answer per 借阅 — the passive reply, and one customer-service
        # message for each "slow, it follows" and each `success`.
        owed = sum((reply == "success") + (SLOW in text) for reply, text in ask.loans)
        until(lambda: len(inbox(c.sim, reader, "custom")) - told_before >= owed, 20, "the late answers")
        # Nothing more to come (the outbox holds no message for them unsent), and nothing twice.
        assert c.sql(f"SELECT COUNT(*) FROM outbox WHERE openid = '{reader}' AND status <> 'sent'") == "0"
        assert len(inbox(c.sim, reader, "custom")) - told_before == owed
        print(f"library system down {restarted - killed:.1f} s: 借阅 answered {answers}, {stale} searches stale; fresh again after {back} s; "
              f"{len(load.messages)} messages ({passive} in the callback, {by_outbox} by customer-service message), {len(load.pages)} pages")
        bad_pages = [x for x in load.pages if x != 200]
        assert not bad_pages, bad_pages
        assert not [s for s in nginx_statuses(c) if s >= 500]
    finally:
        if load:
            load.stop()
        if c:
            c.close()
        library.close()
