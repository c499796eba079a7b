"""Answers and the consultation inbox in a real browser (headless Chromium over WebDriver), with
the simulator as WeChat: a simulated reader (the phone's JSON API) asks a librarian; the librarian,
signed in to the console, sees the question appear without reloading, sees the reader's context
and window, answers with a canned answer, and the reader receives it as a customer-service
message. Then the librarian adds a keyword rule (a bad regular expression first: refused, nothing
saved) and the rule answers the reader. Screenshots of failures go to the test's temporary
directory."""
import os
import time

import pytest
import requests

from browser import chrome, close, require_chromium, wait_for, wxlib_site

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    require_chromium()
    tmp = tmp_path_factory.mktemp("consult")
    with wxlib_site(tmp, "ada", PASSWORD, extra_config='[consultation]\nworking_days = "1-7"\nworking_hours = "00:00-24:00"') as base:
        yield base, tmp


@pytest.fixture
def browser(site, request):
    driver = chrome(site[1], request.node.name, window="1100,1000")
    yield driver
    close(driver, request, site[1])


class Reader:
    """A simulated WeChat user, through the simulator's JSON API."""

    def __init__(self, base, openid):
        self.base, self.openid = base, openid

    def act(self, action, body=None):
        r = requests.post(f"{self.base}/sim/readers/{self.openid}/{action}", json=body or {}, timeout=15)
        assert r.ok, r.text
        return r.json()

    def say(self, text):
        out = self.act("text", {"content": text})
        assert out["status"] == 200, out
        return out["reply"]

    def delivered(self):
        """Customer-service messages WeChat delivered to this reader."""
        return requests.get(f"{self.base}/sim/api/_control/inbox", params={"openid": self.openid}, timeout=5).json()["messages"]


def sign_in(d, base):
    from selenium.webdriver.common.by import By
    d.get(base + "/console/login")
    d.find_element(By.ID, "username").send_keys("ada")
    d.find_element(By.ID, "password").send_keys(PASSWORD)
    d.find_element(By.ID, "sign-in").click()
    wait_for(lambda: d.find_element(By.ID, "sign-out"), "the signed-in console")


def test_a_reader_asks_and_a_librarian_answers(site, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select
    base, _ = site
    d = browser
    reader = Reader(base, "oConsultReader000000000000001")
    reader.act("follow")

    # Without a session the inbox is not shown.
    r = requests.get(base + "/console/inbox", allow_redirects=False, timeout=5)
    assert r.status_code in (302, 303, 401), r.status_code

    sign_in(d, base)
    # A canned answer for later.
    d.get(base + "/console/inbox/canned")
    d.find_element(By.ID, "canned-title").send_keys("补办借书证")
    d.find_element(By.ID, "canned-body").send_keys("请带身份证到一楼总服务台补办，工本费 10 元。")
    d.find_element(By.ID, "save-canned").click()
    wait_for(lambda: "补办借书证" in d.find_element(By.ID, "canned-list").text, "the canned answer listed")

    d.get(base + "/console/inbox")
    assert reader.openid not in d.find_element(By.ID, "conversations").text

    # The reader asks while the page is open; the question appears by itself.
    opened = reader.say("人工")
    assert "馆员" in opened["content"] and "结束" in opened["content"], opened
    reader.say("借书证丢了怎么补办？")
    row = wait_for(lambda: d.find_element(By.CSS_SELECTOR, f"tr.conversation[data-openid='{reader.openid}']"), "the reader's conversation to appear")
    assert "借书证丢了怎么补办？" in row.text and "unread" in row.get_attribute("class")

    row.find_element(By.TAG_NAME, "a").click()
    wait_for(lambda: "借书证丢了怎么补办？" in d.find_element(By.ID, "thread").text, "the thread")
    context = d.find_element(By.ID, "reader-context").text
    assert "未绑定一卡通" in context, context
    assert "还可发送 5 条" in d.find_element(By.ID, "window-left").text

    # Answer with the canned text (the select fills the box), then send.
    Select(d.find_element(By.ID, "canned")).select_by_visible_text("补办借书证")
    assert "一楼总服务台" in d.find_element(By.ID, "answer-text").get_attribute("value")
    d.find_element(By.ID, "send-answer").click()
    wait_for(lambda: "回复已发送" in d.page_source, "the answer to be accepted")

    # WeChat delivered it to the reader as a customer-service message, once.
    got = wait_for(lambda: reader.delivered(), "the reader to receive the answer")
    assert len(got) == 1 and "一楼总服务台" in got[0]["body"]["text"]["content"], got
    wait_for(lambda: "已送达" in d.find_element(By.ID, "thread").text, "the thread to show the answer delivered")
    # The answer counts against the window once: before it goes out as pending, after as sent
    # (the outbox marks the row sent and counts the send in one transaction; a reading between
    # two separate writes once showed 3).
    d.refresh()
    wait_for(lambda: "还可发送 4 条" in d.find_element(By.ID, "window-left").text, "the window to count the one answer sent")
    if os.environ.get("WXLIB_SCREENSHOT_DIR"):
        d.get_screenshot_as_file(os.path.join(os.environ["WXLIB_SCREENSHOT_DIR"], "inbox-thread.png"))

    # An empty answer is refused with a message; nothing goes out.
    d.find_element(By.ID, "send-answer").click()
    wait_for(lambda: "回复不能为空" in d.page_source, "the empty-answer message")
    time.sleep(1)
    assert len(reader.delivered()) == 1

    # The signed-in session without the CSRF token is refused, and nothing goes out.
    cookies = {c["name"]: c["value"] for c in d.get_cookies()}
    forged = requests.post(f"{base}/console/inbox/r/{reader.openid}/answer", data={"text": "forged"}, cookies=cookies, allow_redirects=False, timeout=5)
    assert forged.status_code == 403, forged.status_code
    time.sleep(1)
    assert len(reader.delivered()) == 1

    # The answer is in the audit log, with who sent it.
    d.get(base + "/console/audit")
    assert "inbox.answer" in d.page_source and "一楼总服务台" in d.page_source

    # The reader ends the consultation; ordinary text searches again.
    assert "已结束" in reader.say("结束")["content"]

    # The inbox in English.
    d.get(base + "/console/inbox?lang=en")
    wait_for(lambda: "Consultation inbox" in d.page_source and "Unread messages" in d.page_source, "the English inbox")


def test_a_keyword_rule_from_the_console_answers_the_reader(site, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select
    base, _ = site
    d = browser
    reader = Reader(base, "oRuleReader00000000000000001")
    reader.act("follow")
    sign_in(d, base)
    d.get(base + "/console/answers")

    def fill(kind, pattern, answer):
        Select(d.find_element(By.ID, "match_kind")).select_by_value(kind)
        for field, value in (("pattern", pattern), ("answer_text", answer)):
            el = d.find_element(By.ID, field)
            el.clear()
            el.send_keys(value)
        d.find_element(By.ID, "save-rule").click()

    # A bad regular expression: a clear message, nothing saved, the form keeps what was typed.
    fill("pattern", "(打印", "自助打印机在一楼大厅")
    wait_for(lambda: "正则表达式无效" in d.page_source, "the bad-regex message")
    assert d.find_elements(By.ID, "rules") == []
    assert d.find_element(By.ID, "pattern").get_attribute("value") == "(打印"

    fill("pattern", "(打印|复印)", "自助打印机在一楼大厅，支持校园卡付费。")
    wait_for(lambda: "规则已保存" in d.page_source, "the rule to be saved")
    assert "(打印|复印)" in d.find_element(By.ID, "rules").text

    # Try it in the console, then as the reader.
    d.find_element(By.ID, "test-message").send_keys("哪里可以复印")
    d.find_element(By.ID, "test-rules").click()
    wait_for(lambda: "自助打印机" in d.find_element(By.ID, "test-result").text, "the test result")
    reply = reader.say("哪里可以复印？")
    assert reply["type"] == "text" and reply["content"] == "自助打印机在一楼大厅，支持校园卡付费。", reply

    # Edited: the reader gets the new text with the next message.
    d.find_element(By.LINK_TEXT, "编辑").click()
    box = wait_for(lambda: d.find_element(By.ID, "answer_text"), "the edit form")
    box.clear()
    box.send_keys("自助打印机在一楼大厅和三楼。")
    d.find_element(By.ID, "save-rule").click()
    wait_for(lambda: "规则已更新" in d.page_source, "the rule to be updated")
    assert reader.say("复印")["content"] == "自助打印机在一楼大厅和三楼。"

    # Deleted: the reader's question goes to the librarians instead.
    d.find_element(By.CSS_SELECTOR, "#rules form button").click()
    wait_for(lambda: "规则已删除" in d.page_source, "the rule to be deleted")
    assert "已转给馆员" in reader.say("哪里可以复印？")["content"]
