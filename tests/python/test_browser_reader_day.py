"""A reader's day in a real browser (headless Chromium over WebDriver), on `wxlib demo`: scan the
entrance poster and follow, search by title and open a record, bind the card on the web page
opened from the menu, see loans and renew, and read a message pushed later. Screenshots of any
failure are saved under the test's temporary directory (the path is printed)."""
import contextlib
import os
import shutil
import sqlite3
import subprocess
import time

import pytest
import requests

from browser import wait_for
from conftest import BIN, ROOT, free_port

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        if os.environ.get("CI"):
            pytest.fail("chromium and chromium-driver are required in CI (scripts/test installs them)")
        pytest.skip("!!! chromium / chromedriver not installed: browser tests skipped")
    tmp = tmp_path_factory.mktemp("demo")
    port = free_port()
    log = open(tmp / "demo.log", "w")
    proc = subprocess.Popen([BIN, "demo", "--listen", f"127.0.0.1:{port}", "--data-dir", str(tmp / "data")], stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        if proc.poll() is not None:
            raise RuntimeError((tmp / "demo.log").read_text())
        try:
            if requests.get(base + "/sim/api/_control/menu", timeout=1).json().get("menu"):
                break
        except (requests.ConnectionError, ValueError):
            pass
        time.sleep(0.2)
    else:
        raise RuntimeError("demo did not come up: " + (tmp / "demo.log").read_text())
    yield base, tmp
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def browser(demo, request):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=900,1000", "--lang=zh-CN"]:
        opts.add_argument(flag)
    opts.add_argument(f"--user-data-dir={demo[1] / ('chrome-' + request.node.name)}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.implicitly_wait(0)
    yield driver
    if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
        path = demo[1] / f"failure-{request.node.name}.png"
        driver.get_screenshot_as_file(str(path))
        print(f"screenshot of the failure: {path}")
    if os.environ.get("WXLIB_SCREENSHOT"):
        driver.get_screenshot_as_file(os.environ["WXLIB_SCREENSHOT"])
    driver.quit()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


def account_bubble(driver, text):
    from selenium.webdriver.common.by import By
    return wait_for(lambda: next((b for b in driver.find_elements(By.CSS_SELECTOR, ".bubble.account") if text in b.text), None), f"a reply containing {text!r}")


def send(driver, text):
    from selenium.webdriver.common.by import By
    box = driver.find_element(By.ID, "input")
    box.clear()
    box.send_keys(text)
    driver.find_element(By.ID, "send").click()


def menu(driver, group, item):
    from selenium.webdriver.common.by import By
    g = wait_for(lambda: next((b for b in driver.find_elements(By.CSS_SELECTOR, ".menu-group") if b.text.strip().endswith(group) and b.is_enabled()), None), f"menu group {group}")
    g.click()
    wait_for(lambda: next((b for b in driver.find_elements(By.CSS_SELECTOR, ".menu-item") if b.text.strip() == item and b.is_displayed()), None), f"menu item {item}").click()


def in_overlay(driver, fn):
    from selenium.webdriver.common.by import By
    wait_for(lambda: "open" in driver.find_element(By.ID, "overlay").get_attribute("class"), "the web view to open")
    driver.switch_to.frame(driver.find_element(By.ID, "webview"))
    try:
        return fn()
    finally:
        driver.switch_to.default_content()


def test_a_readers_day(demo, browser):
    from selenium.webdriver.common.by import By
    base, tmp = demo
    d = browser
    d.get(base + "/sim")

    # The page starts on a reader of its own (the first known one, or a new one). Wait for it, so
    # that the reader taken below is the one "新读者" makes and not the one the page started on.
    def current_reader():
        return d.find_element(By.ID, "who").get_attribute("title")

    first = wait_for(current_reader, "the page to start on a reader")
    d.find_element(By.ID, "new-reader").click()
    openid = wait_for(lambda: (r := current_reader()) != first and r == d.find_element(By.ID, "reader-select").get_attribute("value") and r, "a new reader")

    # Scan the entrance poster: a follow that carries its scene.
    d.find_element(By.ID, "scan").click()
    wait_for(lambda: next((q for q in d.find_elements(By.CSS_SELECTOR, ".qr-item") if "entrance" in q.text), None), "the entrance code").click()
    account_bubble(d, "欢迎关注")

    # Search by title and open the record.
    menu(d, "图书查询", "题名")
    account_bubble(d, "请输入题名")
    send(d, "明代政治制度")
    account_bubble(d, "题名检索结果")
    send(d, "1")
    detail = account_bubble(d, "《明代政治制度")
    detail.find_element(By.LINK_TEXT, "查看完整记录").click()
    body = in_overlay(d, lambda: wait_for(lambda: d.find_element(By.TAG_NAME, "body").text if "馆藏" in d.find_element(By.TAG_NAME, "body").text else None, "the record page"))
    assert "明代政治制度" in body
    d.find_element(By.ID, "overlay-close").click()

    # Bind the card on the page the menu opens (web authorisation done as WeChat does).
    menu(d, "借阅信息", "绑定一卡通")

    def fill_and_bind():
        wait_for(lambda: d.find_element(By.NAME, "card"), "the binding form")
        d.find_element(By.NAME, "card").send_keys("2021001")
        d.find_element(By.NAME, "password").send_keys("1234")
        d.find_element(By.ID, "bind").click()
        return wait_for(lambda: d.find_element(By.ID, "bound").text, "the binding to succeed")

    assert "张三" in in_overlay(d, fill_and_bind)
    d.find_element(By.ID, "overlay-close").click()

    # The confirmation arrives later as a customer-service message.
    account_bubble(d, "已绑定一卡通")

    # Loans and renewal.
    menu(d, "借阅信息", "借阅图书")
    account_bubble(d, "您当前借阅 3 册")
    send(d, "续借全部")
    result = account_bubble(d, "续借结果")
    assert "已超期" in result.text  # the overdue loan is refused with its reason

    def first_scene():
        # A fresh connection for each look: a connection kept open can stay on an old snapshot of
        # the WAL while the server writes.
        with contextlib.closing(sqlite3.connect(tmp / "data" / "wxlib.db")) as c:
            return c.execute("SELECT first_scene FROM followers WHERE openid = ?", (openid,)).fetchone()

    wait_for(lambda: first_scene() == ("entrance",), "the follow credited to the entrance poster", timeout=30)
    db = sqlite3.connect(tmp / "data" / "wxlib.db")
    assert db.execute("SELECT card FROM bindings WHERE openid = ?", (openid,)).fetchone() == ("2021001",)
