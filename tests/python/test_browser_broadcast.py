"""A librarian sends a news message from the console, in headless Chromium, and the simulated
readers get it: sign in (an admin adds the librarian first), try a wrong form (refused, nothing
saved), compose with a cover, preview to one test reader, send to all followers; every follower's
phone shows the message once; one reader opens it and taps "阅读原文" (wxlib's page, where readers
are counted); the console then shows 1 reader of 5 followers at send time = 20.0%, and a
follower who came later does not change it."""

import pytest
import requests

from browser import chrome, close, require_chromium, wait_for, wxlib_site
from test_browser_reader_day import in_overlay

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8ffff3f0005fe02fea73581840000000049454e44ae426082"
)
READERS = [f"oBcastReader{i}" for i in range(5)]


@pytest.fixture(scope="module")
def account(tmp_path_factory):
    require_chromium()
    tmp = tmp_path_factory.mktemp("bcast")
    with wxlib_site(tmp, "admin1", "admin-pass-2026") as base:
        for openid in READERS:
            r = requests.post(f"{base}/sim/readers/{openid}/follow", json={}, timeout=10)
            assert r.ok, r.text
        yield base, tmp


@pytest.fixture
def browser(account, request):
    driver = chrome(account[1], request.node.name, window="1000,1000")
    yield driver
    close(driver, request, account[1])


def sign_in(d, base, username, password):
    from selenium.webdriver.common.by import By
    d.get(base + "/console/login")
    d.find_element(By.ID, "username").send_keys(username)
    d.find_element(By.ID, "password").send_keys(password)
    d.find_element(By.ID, "sign-in").click()
    wait_for(lambda: d.find_element(By.ID, "sign-out"), "the console after sign-in")


def mass_count(base, openid):
    convo = requests.get(f"{base}/sim/readers/{openid}/conversation", timeout=10).json()
    items = convo["entries"]
    return sum(1 for m in items if m.get("kind") == "mass")


def test_a_librarian_sends_a_news_message_and_sees_its_read_rate(account, browser):
    from selenium.webdriver.common.by import By
    base, tmp = account
    d = browser

    # The admin adds a librarian; the librarian signs in.
    sign_in(d, base, "admin1", "admin-pass-2026")
    d.get(base + "/console/librarians")
    form = d.find_element(By.ID, "add-librarian")
    form.find_element(By.NAME, "username").send_keys("lib1")
    form.find_element(By.NAME, "password").send_keys("lib-pass-2026")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(lambda: "lib1" in d.find_element(By.ID, "librarians").text, "the new librarian")
    d.find_element(By.ID, "sign-out").click()
    sign_in(d, base, "lib1", "lib-pass-2026")

    # A wrong form is refused with a clear message and nothing is saved.
    d.get(base + "/console/broadcasts")
    d.find_element(By.ID, "compose").click()
    d.find_element(By.ID, "title").send_keys("标" * 40)
    d.find_element(By.ID, "body").send_keys("<p>正文</p>")
    d.find_element(By.ID, "save").click()
    assert "32" in wait_for(lambda: d.find_element(By.CSS_SELECTOR, ".flash.error").text, "the error")
    d.get(base + "/console/broadcasts")
    assert "#1" not in d.find_element(By.ID, "broadcasts").text and len(d.find_elements(By.CSS_SELECTOR, "#broadcasts tr")) == 1

    # Compose with a cover.
    cover = tmp / "cover.png"
    cover.write_bytes(PNG)
    d.find_element(By.ID, "compose").click()
    d.find_element(By.ID, "title").send_keys("十二月新书通报")
    d.find_element(By.ID, "digest").send_keys("本月到馆新书 120 种")
    d.find_element(By.ID, "cover").send_keys(str(cover))
    d.find_element(By.ID, "body").send_keys("<p>本月新书已上架，欢迎借阅。</p><script>alert(1)</script>")
    d.find_element(By.ID, "save").click()
    wait_for(lambda: d.find_element(By.ID, "state"), "the message page")
    assert "alert" not in d.page_source

    # Preview to one test reader: only they get it.
    d.find_element(By.ID, "preview-openids").send_keys(READERS[0])
    d.find_element(By.ID, "preview").click()
    wait_for(lambda: d.find_element(By.CSS_SELECTOR, ".flash.ok"), "the preview confirmation")
    assert mass_count(base, READERS[1]) == 0

    # Send to all followers (the confirmation box is required).
    d.find_element(By.ID, "send").click()
    wait_for(lambda: d.find_element(By.CSS_SELECTOR, ".flash.error"), "the refusal without confirmation")
    d.find_element(By.ID, "confirm").click()
    d.find_element(By.ID, "send").click()
    # Wait for the redirect after queueing: refreshing the refusal page earlier would re-post its
    # unconfirmed form (and cancel the navigation of this one).
    wait_for(lambda: "queued=1" in d.current_url, "the send to be queued")

    def sent():
        d.refresh()
        return d.find_element(By.ID, "state").text in ("已发送", "Sent")
    wait_for(sent, "the message to be sent", timeout=30)
    assert d.find_element(By.ID, "followers-at-send").text == "5"
    for openid in READERS:
        assert wait_for(lambda: mass_count(base, openid) == 1, f"{openid} to get it once")

    # A reader opens the message on the phone and taps "阅读原文".
    d.get(base + "/sim")
    wait_for(lambda: d.find_element(By.ID, "reader-select"), "the phone")
    from selenium.webdriver.support.ui import Select
    Select(d.find_element(By.ID, "reader-select")).select_by_value(READERS[2])
    card = wait_for(lambda: next((c for c in d.find_elements(By.CSS_SELECTOR, ".card.news") if "十二月新书通报" in c.text), None), "the news card")
    card.find_element(By.CSS_SELECTOR, ".lead").click()

    def read_original():
        wait_for(lambda: d.find_element(By.ID, "read-original"), "the 阅读原文 link").click()
        return wait_for(lambda: d.find_element(By.ID, "article").text, "wxlib's article page")
    assert "本月新书已上架" in in_overlay(d, read_original)

    # A follower who comes later does not change the denominator.
    requests.post(f"{base}/sim/readers/oBcastLate/follow", json={}, timeout=10)
    d.get(base + "/console/broadcasts")
    row = wait_for(lambda: d.find_element(By.ID, "broadcast-1"), "the list row")
    assert row.find_element(By.CSS_SELECTOR, ".followers").text == "5"
    assert row.find_element(By.CSS_SELECTOR, ".readers").text == "1"
    assert row.find_element(By.CSS_SELECTOR, ".rate").text == "20.0%"
    assert d.find_element(By.ID, "rate-chart")
    d.get_screenshot_as_file(str(tmp / "broadcasts.png"))
    d.find_element(By.LINK_TEXT, "十二月新书通报").click()
    assert "1" in wait_for(lambda: d.find_element(By.ID, "reads-by-day").text, "reads per day")
    assert d.find_element(By.ID, "read-rate").text == "20.0%"

    # The send is in the audit log (admins only).
    d.find_element(By.ID, "sign-out").click()
    sign_in(d, base, "admin1", "admin-pass-2026")
    d.get(base + "/console/audit")
    assert "broadcast.send" in d.find_element(By.TAG_NAME, "body").text
