"""Live availability and notices against a real SIP2 library system (issue 20), with the
circulation changed by ANOTHER SIP2 client — a self-check kiosk written here on pysip2's codec
(93 login, 11 Checkout, 09 Checkin, 15 Hold over its own socket) — never by wxlib.

The catalog comes from `wxlib import` of Koha-style MARC 21 records (pymarc writes them; each copy
a 952 with $a branch, $c location, $o call number, $p barcode), and the pysip2 library system
(tests/peers/sip2/sip2_backend.py, `--data borrowing --items`) knows the same barcodes.

Live availability (one wxlib with the simulated phone, status_ttl_secs = 1): a checkout and a
checkin at the kiosk show on the record page, in the JSON API (items[].status, due_date, fresh)
and in chat (search, then the detail) within the TTL, the loaned copy with its due date. Then the
library system hangs (SIGSTOP) and dies (SIGKILL): chat answers within WeChat's 5 s and pages
promptly, with the last known statuses marked "状态更新于 …" / fresh=false — never a fresh-looking
在架 or 可借 — and freshness returns when it is back.

Notices (on SQLite and PostgreSQL; WeChat is `wxlib simulator`, a process of its own, so what it
delivered survives wxlib's restart): a loan another reader reserves at the kiosk (no more
renewals), that reader's hold made ready by a checkin at the kiosk, and 到书提醒 asked for in chat
after a record's detail and fulfilled by a checkin — each reaches the reader exactly once, with
wxlib restarted in the middle and rounds going on after each notice.
"""
import csv
import datetime
import json
import re
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests
from pymarc import Field, Indicators, MARCWriter, Record, Subfield
from pysip2 import (
    CheckinRequest, CheckinResponse, CheckoutRequest, CheckoutResponse, HoldRequest, HoldResponse,
    LoginRequest, LoginResponse, decode_as, encode_message,
)

from conftest import APPID, BIN, ROOT, Server, WeChat, free_port, message

LIBRARY = ROOT / "tests" / "peers" / "sip2" / "sip2_backend.py"
CALLBACK_LIMIT = 5.0
TTL = 1
BUDGET_MS = 800
READER_CARD, READER_PW = "2021001", "pw-Secret-1234"
OTHER_CARD, OTHER_PW = "2021002", "5678"

# id, title, [(barcode, location, call number)]
RECORDS = [
    ("live0001", "活字印刷源流考", [("LV01", "总馆二层", "TS8/1"), ("LV02", "总馆三层", "TS8/1 c.2")]),
    ("live0002", "造纸术的起源", [("LV03", "总馆二层", "TS7/2")]),
    ("live0003", "指南针与航海", [("LV04", "分馆一层", "U6/3")]),
]
TIMINGS = {}


def write_catalog(tmp):
    """The MARC file (Koha 952 holdings) and the library system's copies (barcode,title)."""
    mrc = tmp / "live.mrc"
    with open(mrc, "wb") as f:
        w = MARCWriter(f)
        for rid, title, copies in RECORDS:
            r = Record(force_utf8=True)
            r.leader = "00000nam a2200000 a 4500"  # pymarc fills in the lengths
            r.add_field(Field(tag="001", data=rid))
            r.add_field(Field(tag="100", indicators=Indicators("1", " "), subfields=[Subfield("a", "李约瑟")]))
            r.add_field(Field(tag="245", indicators=Indicators("1", "0"), subfields=[Subfield("a", title)]))
            r.add_field(Field(tag="260", indicators=Indicators(" ", " "), subfields=[Subfield("b", "科学出版社"), Subfield("c", "2019")]))
            for barcode, location, call in copies:
                r.add_field(Field(tag="952", indicators=Indicators(" ", " "), subfields=[
                    Subfield("a", "MAIN"), Subfield("b", "MAIN"), Subfield("c", location), Subfield("o", call),
                    Subfield("p", barcode), Subfield("y", "BK")]))
            w.write(r)
        w.close(close_fh=False)
    items = tmp / "live-items.csv"
    with open(items, "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["barcode", "title"])
        for _, title, copies in RECORDS:
            for barcode, _, _ in copies:
                out.writerow([barcode, title])
    return mrc, items


class Sip2Library:
    """The pysip2 library system; its data survives a kill in a JSON state file."""

    def __init__(self, tmp, items, port=None):
        self.port = port or free_port()
        self.items = items
        self.state = tmp / f"sip2-{self.port}.json"
        self.log_path = tmp / f"sip2-{self.port}.log"
        self.start()

    def start(self):
        self.log = open(self.log_path, "a")
        self.proc = subprocess.Popen([sys.executable, str(LIBRARY), str(self.port), "--data", "borrowing", "--state", str(self.state),
                                      "--items", str(self.items), "--login-required"], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 15
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"SIP2 library system exited: {self.log_path.read_text()}")
            if self.log_path.read_text().count("listening on") > getattr(self, "starts", 0):
                self.starts = getattr(self, "starts", 0) + 1
                return
            time.sleep(0.05)
        raise RuntimeError("SIP2 library system did not start")

    def data(self):
        return json.loads(self.state.read_text())

    def kill(self):
        self.proc.send_signal(signal.SIGCONT)
        self.proc.kill()
        self.proc.wait(5)
        self.log.close()

    def close(self):
        if self.proc.poll() is None:
            self.kill()


def sip_now():
    return datetime.datetime.now().strftime("%Y%m%d    %H%M%S")


class Kiosk:
    """A self-check machine: another SIP2 client of the same library system, with the SC login."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.seq = 0
        r = self.ask(LoginRequest(uid_algorithm="0", pwd_algorithm="0", login_user_id="sc", login_password="scpass", location_code="KIOSK1"), LoginResponse)
        assert r.ok == "1", r

    def ask(self, request, answer_type):
        self.sock.sendall(encode_message(request, sequence_number=self.seq, checksum=True, encoding="utf-8"))
        self.seq = (self.seq + 1) % 10
        frame = b""
        while not frame.endswith(b"\r"):
            chunk = self.sock.recv(4096)
            assert chunk, "the library system closed the kiosk's connection"
            frame += chunk
        return decode_as(frame, answer_type, encoding="utf-8").message

    def checkout(self, card, barcode):
        r = self.ask(CheckoutRequest(sc_renewal_policy="N", no_block="N", transaction_date=sip_now(), nb_due_date=sip_now(),
                                     institution_id="UNIVLIB", patron_identifier=card, item_identifier=barcode, terminal_password=""),
                     CheckoutResponse)
        assert r.ok == "1", r
        return f"{r.due_date[:4]}-{r.due_date[4:6]}-{r.due_date[6:8]}"

    def checkin(self, barcode):
        r = self.ask(CheckinRequest(no_block="N", transaction_date=sip_now(), return_date=sip_now(), current_location="KIOSK1",
                                    institution_id="UNIVLIB", item_identifier=barcode, terminal_password=""), CheckinResponse)
        assert r.ok == "1", r

    def hold(self, card, password, barcode):
        r = self.ask(HoldRequest(hold_mode="+", transaction_date=sip_now(), institution_id="UNIVLIB", patron_identifier=card,
                                 patron_password=password, item_identifier=barcode, pickup_location="总馆"), HoldResponse)
        assert r.ok == "1", r

    def close(self):
        self.sock.close()


def sip2_config(port, notices_enabled, poll=1):
    return f"""
[circulation]
system = "sip2"
ils_timeout_ms = 1500
status_ttl_secs = {TTL}
status_budget_ms = {BUDGET_MS}
[circulation.notices]
enabled = {str(notices_enabled).lower()}
poll_interval_secs = {poll}
requests_per_sec = 200
[circulation.sip2]
address = "127.0.0.1:{port}"
login_user = "sc"
login_password = "scpass"
institution = "UNIVLIB"
location = "MAIN"
charset = "utf-8"
timeout_ms = 1000
pool_size = 4
"""


def until(check, timeout, what):
    """Polls `check` until it returns something truthy; returns (value, seconds taken)."""
    started = time.monotonic()
    while True:
        value = check()
        if value:
            return value, time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what}: not within {timeout} s (last: {value!r})")
        time.sleep(0.05)


def timed_get(url):
    started = time.monotonic()
    r = requests.get(url, timeout=10)
    return r, time.monotonic() - started


# ---------------------------------------------------------------------------------------------
# Live availability.


class Phone:
    """The simulated phone of a `Server(simulator=True)`: WeChat's callback, its 5-second limit."""

    def __init__(self, server, openid):
        self.base, self.openid = server.url, openid

    def text(self, content):
        started = time.monotonic()
        r = requests.post(f"{self.base}/sim/readers/{self.openid}/text", json={"content": content}, timeout=15)
        took = time.monotonic() - started
        assert r.status_code == 200, r.text
        j = r.json()
        assert j["outcome"] == "replied", j
        return j["reply"]["content"], took

    def detail(self, title):
        listing, t1 = self.text(title)
        assert "检索结果" in listing and title in listing, listing
        detail, t2 = self.text("1")
        assert f"《{title}》" in detail, detail
        return listing, detail, max(t1, t2)


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("circulation_live")
    mrc, items = write_catalog(tmp)
    library = Sip2Library(tmp, items)
    server = Server(tmp, simulator=True, import_files=[mrc], extra_config=sip2_config(library.port, notices_enabled=False))
    kiosk = Kiosk(library.port)
    box = {"library": library, "kiosk": kiosk}
    yield server, box
    server.stop()
    box["kiosk"].close()
    box["library"].close()
    if TIMINGS:
        print("\nlive availability timings:", json.dumps(TIMINGS, ensure_ascii=False, indent=1))


def api_items(server, rid="live0001"):
    r, took = timed_get(f"{server.url}/api/v1/records/{rid}")
    assert r.status_code == 200, r.text
    return {it["barcode"]: it for it in r.json()["items"]}, r.json(), took


def test_import_links_the_952_barcodes_to_their_records(live):
    server, _ = live
    for rid, title, copies in RECORDS:
        items, record, _ = api_items(server, rid)
        assert sorted(items) == sorted(b for b, _, _ in copies), record
        for barcode, location, call in copies:
            it = items[barcode]
            assert (it["record_id"], it["location"], it["call_number"]) == (rid, location, call), it
            # What the library system says now: on the shelf, just read.
            assert (it["status"], it["due_date"], it["fresh"]) == ("available", None, True), it
        assert record["availability"]["fresh"] is True and record["availability"]["available"] == len(copies), record


def test_a_kiosk_checkout_and_checkin_show_within_the_ttl(live):
    server, box = live
    phone = Phone(server, "oLiveAvailability00000000001")
    requests.post(f"{server.url}/sim/readers/{phone.openid}/follow", json={}, timeout=10)
    api_items(server)  # warm: both copies known to be on the shelf
    due = box["kiosk"].checkout(READER_CARD, "LV01")
    checked_out = time.monotonic()

    def on_loan():
        items, record, _ = api_items(server)
        it = items["LV01"]
        return (it, record) if it["status"] == "on_loan" and it["fresh"] else None

    (it, record), took = until(on_loan, TTL + 3, "the API shows the kiosk's checkout")
    TIMINGS["checkout at the kiosk → API on_loan (s)"] = round(took, 3)
    assert took <= TTL + 1.5, took
    assert it["due_date"] == due and re.fullmatch(r"\d{4}-\d{2}-\d{2}", due), it
    assert record["availability"]["available"] == 1 and record["availability"]["fresh"] is True, record
    page, _ = timed_get(f"{server.url}/opac/record/live0001")
    assert f"已借出 · 应还 {due}" in page.text and "馆藏 2 册，可借 1 册" in page.text, page.text
    assert "状态更新于" not in page.text
    listing, detail, took = phone.detail("活字印刷源流考")
    assert "可借 1/2" in listing and "状态更新于" not in listing, listing
    assert "馆藏 2 册，可借 1 册" in detail and f"已借出 · 应还 {due}" in detail and "状态更新于" not in detail, detail
    TIMINGS["checkout at the kiosk → chat detail shows the due date (s)"] = round(time.monotonic() - checked_out, 3)

    box["kiosk"].checkin("LV01")
    (_, took) = until(lambda: api_items(server)[0]["LV01"]["status"] == "available", TTL + 3, "the API shows the kiosk's checkin")
    TIMINGS["checkin at the kiosk → API available (s)"] = round(took, 3)
    assert "馆藏 2 册，可借 2 册" in phone.detail("活字印刷源流考")[1]
    # LV01 goes out again for the outage tests: one copy on loan, one on the shelf.
    box["due"] = box["kiosk"].checkout(READER_CARD, "LV01")
    until(lambda: api_items(server)[0]["LV01"]["status"] == "on_loan", TTL + 3, "on loan again")


def assert_stale(text, where):
    """Every availability in `text` says it is the last known one."""
    assert "状态更新于" in text, f"{where}: {text}"
    for m in re.finditer(r"(可借 \d+/\d+|可借 \d+ 册|在架|已借出)[^\n<]*", text):
        assert "状态更新于" in m.group(0), f"{where}: fresh-looking {m.group(0)!r} in {text}"


def check_outage(server, phone, due, label):
    items, record, took = api_items(server)
    TIMINGS[f"{label}: API record (s)"] = round(took, 3)
    assert took < BUDGET_MS / 1000 + 1.0, took
    assert record["availability"]["fresh"] is False and record["availability"]["read_at"], record
    assert not any(it["fresh"] for it in items.values()), items
    # The last known statuses, not guesses: LV01 on loan with its due date, LV02 on the shelf.
    assert (items["LV01"]["status"], items["LV01"]["due_date"]) == ("on_loan", due), items
    assert items["LV02"]["status"] == "available" and items["LV02"]["read_at"], items
    page, took = timed_get(f"{server.url}/opac/record/live0001")
    TIMINGS[f"{label}: record page (s)"] = round(took, 3)
    assert took < BUDGET_MS / 1000 + 1.0, took
    body = page.text.split("<body", 1)[-1]
    assert 'class="ok"' not in body, "a copy shown as fresh on the shelf"
    assert_stale(re.sub(r"<[^>]+>", "\n", body), "record page")
    search, took = timed_get(f"{server.url}/opac/search?q=活字印刷源流考")
    assert took < BUDGET_MS / 1000 + 1.0, took
    assert_stale(re.sub(r"<[^>]+>", "\n", search.text.split("<body", 1)[-1]), "result page")
    listing, detail, took = phone.detail("活字印刷源流考")
    TIMINGS[f"{label}: chat search and detail, slower of the two (s)"] = round(took, 3)
    assert took < CALLBACK_LIMIT, took
    assert_stale(listing, "chat list")
    assert_stale(detail, "chat detail")
    assert f"应还 {due}" in detail, detail


def wait_fresh(server, label, timeout):
    def fresh():
        items, record, _ = api_items(server)
        return record["availability"]["fresh"] and all(it["fresh"] for it in items.values())

    _, took = until(fresh, timeout, f"{label}: freshness returns")
    TIMINGS[f"{label}: back → fresh again (s)"] = round(took, 3)


def test_a_hung_library_system_gives_the_last_known_status_marked_as_such(live):
    server, box = live
    phone = Phone(server, "oLiveAvailability00000000001")
    library = box["library"]
    time.sleep(TTL + 0.2)  # the cached statuses are past their TTL
    library.proc.send_signal(signal.SIGSTOP)
    try:
        check_outage(server, phone, box["due"], "SIGSTOP")
    finally:
        library.proc.send_signal(signal.SIGCONT)
    wait_fresh(server, "SIGSTOP", 15)
    listing, detail, _ = phone.detail("活字印刷源流考")
    assert "状态更新于" not in listing + detail and "馆藏 2 册，可借 1 册" in detail, detail


def test_a_dead_library_system_then_back_on_the_same_port(live):
    server, box = live
    phone = Phone(server, "oLiveAvailability00000000001")
    library = box["library"]
    box["kiosk"].close()
    time.sleep(TTL + 0.2)
    library.kill()
    check_outage(server, phone, box["due"], "SIGKILL")
    check_outage(server, phone, box["due"], "SIGKILL, again")  # the circuit breaker open by now
    library.start()
    wait_fresh(server, "SIGKILL", 20)
    box["kiosk"] = Kiosk(library.port)
    box["kiosk"].checkin("LV01")
    until(lambda: api_items(server)[0]["LV01"]["status"] == "available", TTL + 3, "checkin after the restart")
    assert "馆藏 2 册，可借 2 册" in phone.detail("活字印刷源流考")[1]


# ---------------------------------------------------------------------------------------------
# Notices, each once, across a restart, on both databases.


class WeChatProcess:
    """`wxlib simulator`: WeChat's API as a process of its own, so it outlives wxlib's restarts."""

    def __init__(self):
        port = free_port()
        self.proc = subprocess.Popen([BIN, "simulator", "--listen", f"127.0.0.1:{port}", "--app-id", APPID, "--app-secret", "secret"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{port}/sim/api"
        until(lambda: self._up(), 10, "the simulator starts")

    def _up(self):
        try:
            return requests.get(self.base + "/_control/now", timeout=0.5).ok
        except requests.ConnectionError:
            return False

    def control(self, what, **body):
        requests.post(f"{self.base}/_control/{what}", json=body, timeout=5).raise_for_status()

    def texts(self, openid):
        inbox = requests.get(f"{self.base}/_control/inbox", params={"openid": openid}, timeout=5).json()["messages"]
        out = []
        for m in inbox:
            if m["kind"] == "custom" and m["body"].get("msgtype") == "text":
                out.append(m["body"]["text"]["content"])
            elif m["kind"] == "template":
                out.append(json.dumps(m["body"], ensure_ascii=False))
        return out

    def close(self):
        self.proc.kill()
        self.proc.wait(5)


def restart(server):
    server.stop()
    server.log = open(server.log_path, "a")
    server.proc = subprocess.Popen([BIN, "serve", "--config", str(server.config)], stdout=server.log, stderr=subprocess.STDOUT)
    until(lambda: _healthy(server), 15, "wxlib starts again")


def _healthy(server):
    try:
        return requests.get(server.url + "/healthz", timeout=0.5).ok
    except requests.ConnectionError:
        return False


def say(server, wechat, openid, text):
    wechat.control("interaction", openid=openid, kind="message")
    wx = WeChat(server.url)
    return wx.open(wx.post(*wx.seal(message("text", f"<Content><![CDATA[{text}]]></Content>", openid=openid))))["Content"]


def bind(server, openid, card, password):
    s = requests.Session()
    s.cookies.set("sim_openid", openid)
    page = s.get(server.url + "/h5/bind", timeout=10)
    token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
    done = s.post(server.url + "/h5/bind", data={"token": token, "card": card, "password": password}, timeout=10)
    assert done.status_code == 200 and "绑定成功" in done.text, done.text


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_notices_over_sip2_arrive_once_across_a_restart(backend, tmp_path, request):
    storage = ""
    if backend == "postgres":
        url, name = request.getfixturevalue("pg_database")
        storage = f"{url}/{name}"
    mrc, items = write_catalog(tmp_path)
    library = Sip2Library(tmp_path, items)
    wechat = WeChatProcess()
    kiosk = Kiosk(library.port)
    server = None
    try:
        server = Server(tmp_path, storage_url=storage, api_base=wechat.base, import_files=[mrc],
                        extra_config=sip2_config(library.port, notices_enabled=True))
        reader, other, watcher = "oLiveNoticeReader0000000001", "oLiveNoticeOther00000000001", "oLiveNoticeWatcher000000001"
        for openid in (reader, other, watcher):
            wechat.control("follow", openid=openid)
            say(server, wechat, openid, "你好")  # opens the customer-service window, as WeChat and wxlib see it
        # The kiosk lends LV04 (指南针与航海) and LV03 (造纸术的起源) to the reader.
        due = kiosk.checkout(READER_CARD, "LV04")
        kiosk.checkout(READER_CARD, "LV03")
        bind(server, reader, READER_CARD, READER_PW)
        bind(server, other, OTHER_CARD, OTHER_PW)
        # Someone (not bound) asks in chat to be told when 造纸术的起源 is back.
        assert "检索结果" in say(server, wechat, watcher, "造纸术的起源")
        assert "《造纸术的起源》" in say(server, wechat, watcher, "1")
        assert "有可借的复本时会通知您一次" in say(server, wechat, watcher, "到书提醒")

        reserved = "【不能续借】您借阅的《指南针与航海》已有其他读者预约"
        ready = "【预约到书】您预约的《指南针与航海》已到馆"
        back = "【到书提醒】您关注的《造纸术的起源》现在有可借的复本"

        def once(openid, needle):
            hits = [t for t in wechat.texts(openid) if needle in t]
            assert len(hits) <= 1, f"told {len(hits)} times: {hits}"
            return hits[0] if hits else None

        # The other reader reserves the reader's loan at the kiosk: the reader can no longer renew.
        kiosk.hold(OTHER_CARD, OTHER_PW, "LV04")
        text, took = until(lambda: once(reader, reserved), 10, "the reserved-loan notice")
        TIMINGS[f"{backend}: hold at the kiosk → reserved notice (s)"] = round(took, 3)
        assert f"请在 {due} 前归还" in text and "*1001" in text and READER_CARD not in text, text
        time.sleep(2.2)  # two more rounds: nothing again
        once(reader, reserved)

        restart(server)
        restarted = time.monotonic()
        # After the restart: the reader's loan comes back, which makes the other reader's hold
        # ready, and the watched copy is back on the shelf.
        kiosk.checkin("LV04")
        kiosk.checkin("LV03")
        text, took = until(lambda: once(other, ready), 12, "the hold-ready notice after the restart")
        TIMINGS[f"{backend}: restart, checkin → hold-ready notice (s)"] = round(time.monotonic() - restarted, 3)
        assert "取书" in text and "*1002" in text and OTHER_CARD not in text, text
        text, _ = until(lambda: once(watcher, back), 12, "the 到书提醒 notice")
        assert "/opac/record/live0002" in text, text
        restart(server)
        time.sleep(2.5)  # rounds after a second restart
        assert [once(reader, reserved) is not None, once(other, ready) is not None, once(watcher, back) is not None] == [True] * 3
        # Nothing else reached them but the bind confirmations and chat.
        for openid in (reader, other, watcher):
            notices = [t for t in wechat.texts(openid) if t.startswith("【")]
            assert len(notices) == 1, (openid, notices)
    finally:
        if server:
            server.stop()
        kiosk.close()
        wechat.close()
        library.close()
