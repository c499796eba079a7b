"""A librarian's morning in a real browser (headless Chromium over WebDriver) on `wxlib serve` with
the simulator: the first admin comes from `wxlib create-admin`; the admin signs in (after a wrong
password), adds a librarian, edits and publishes the menu, sets opening hours with a holiday
exception; simulated readers (the simulator's JSON API) see the new menu and get the holiday's
answer. Wrong input in each form gets a clear message and changes nothing; a librarian cannot do
admin-only things; requests without a session or CSRF token are refused."""
import datetime
import subprocess
import time

import pytest
import requests

from browser import chrome, close, require_chromium, wxlib_site
from conftest import BIN

CST = datetime.timezone(datetime.timedelta(hours=8))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    require_chromium()
    tmp = tmp_path_factory.mktemp("console")
    # The first admin, from the command line (the password on stdin, never stored in clear).
    with wxlib_site(tmp, "chief", "chief-password") as base:
        bad = subprocess.run([BIN, "create-admin", "--config", str(tmp / "wxlib.toml"), "--password-stdin", "deputy"], input="short\n", capture_output=True, text=True, timeout=120)
        assert bad.returncode != 0 and "8 to 128" in bad.stderr
        yield base, tmp


@pytest.fixture
def browsers(server, request):
    drivers = []

    def new(name):
        d = chrome(server[1], f"{request.node.name}-{name}", window="1200,1400")
        drivers.append((name, d))
        return d

    yield new
    for name, d in drivers:
        close(d, request, server[1], label=name)


def by(css):
    from selenium.webdriver.common.by import By
    return By.CSS_SELECTOR, css


def fill(d, css, value):
    el = d.find_element(*by(css))
    el.clear()
    el.send_keys(value)


def choose(d, css, value):
    from selenium.webdriver.support.ui import Select
    Select(d.find_element(*by(css))).select_by_value(value)


def click(d, css):
    """Clicks and waits for the page that the click loads.

    The old page is marked with a script variable; the new page is there when the mark is gone and
    the document has loaded. (Selenium's `staleness_of` asks Chromium about the old <html> node,
    which can fail with "Node with given id does not belong to the document" while the page swaps.)
    """
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait
    d.execute_script("window.__wxlibOldPage = true")
    d.find_element(*by(css)).click()
    WebDriverWait(d, 15, ignored_exceptions=(WebDriverException,)).until(
        lambda d: d.execute_script("return window.__wxlibOldPage === undefined && document.readyState === 'complete'")
    )


def flash(d):
    """The page's message box (error or ok)."""
    boxes = d.find_elements(*by(".flash"))
    return boxes[0].text if boxes else ""


def sign_in(d, base, username, password):
    d.get(base + "/console/menu")
    assert "/console/login" in d.current_url, "no session: the sign-in page"
    fill(d, "#username", username)
    fill(d, "#password", password)
    click(d, "#sign-in")


def reader(base, openid, action, **body):
    r = requests.post(f"{base}/sim/readers/{openid}/{action}", json=body, timeout=10)
    assert r.ok, r.text
    return r.json()


def test_a_librarians_morning(server, browsers):
    base, _ = server
    admin = browsers("admin")

    # Sign in: a wrong password is refused with a message; then in, and back to the page asked for.
    sign_in(admin, base, "chief", "wrong-password")
    assert "用户名或密码不正确" in flash(admin)
    fill(admin, "#password", "chief-password")
    click(admin, "#sign-in")
    assert admin.current_url.endswith("/console/menu")
    assert "chief" in admin.find_element(*by("header")).text

    # Add a librarian: a short password is refused and nothing is added; then added.
    admin.get(base + "/console/librarians")
    fill(admin, "#add-librarian input[name=username]", "li.ming")
    fill(admin, "#add-librarian input[name=password]", "short")
    click(admin, "#add-librarian button")
    assert "密码长度须为 8–128 个字符" in flash(admin)
    assert "li.ming" not in admin.find_element(*by("#librarians")).text
    fill(admin, "#add-librarian input[name=password]", "librarian-pw")
    click(admin, "#add-librarian button")
    assert "已添加" in flash(admin)
    assert "li.ming" in admin.find_element(*by("#librarians")).text

    # The menu: a too-long group name is refused (nothing saved); then 开放时间 is added and published.
    admin.get(base + "/console/menu")
    fill(admin, "input[name=g2_name]", "图书馆信息服务")
    click(admin, "#save-menu")
    assert "未保存" in flash(admin) and "16 字节" in flash(admin)
    admin.get(base + "/console/menu")
    assert admin.find_element(*by("input[name=g2_name]")).get_attribute("value") == "图书馆"
    fill(admin, "input[name=g2_3_name]", "开放时间")
    choose(admin, "select[name=g2_3_action]", "builtin:hours")
    click(admin, "#save-menu")
    assert "菜单已保存" in flash(admin)
    click(admin, "#push-menu")
    assert "菜单已发布到微信" in flash(admin)
    pushed = requests.get(base + "/sim/api/_control/menu", timeout=5).json()["menu"]
    library = pushed["button"][2]
    assert library["name"] == "图书馆" and {"type": "click", "name": "开放时间", "key": "OPENING_HOURS"} in library["sub_button"], pushed

    # Opening hours: a place with its daily hours (a backwards range is refused first).
    admin.get(base + "/console/hours")
    fill(admin, "#add-place input[name=name]", "总馆")
    fill(admin, "#add-place input[name=hours]", "22:00-08:00")
    click(admin, "#add-place button")
    assert "结束时间必须晚于开始时间" in flash(admin)
    assert not admin.find_elements(*by("[id^=place-]"))
    fill(admin, "#add-place input[name=hours]", "08:00-22:00")
    click(admin, "#add-place button")
    assert "地点已添加" in flash(admin)

    # A holiday today: a wrong date is refused, then the closure is added with its reason.
    today = datetime.datetime.now(CST).date()
    fill(admin, "#add-exception input[name=first_day]", "2026-13-01")
    admin.find_element(*by("#add-exception input[name=closed]")).click()
    fill(admin, "#add-exception input[name=reason]", "校庆日")
    click(admin, "#add-exception button")
    assert "不是有效日期" in flash(admin)
    assert not admin.find_elements(*by("[id^=exception-]"))
    fill(admin, "#add-exception input[name=first_day]", today.isoformat())
    if not admin.find_element(*by("#add-exception input[name=closed]")).is_selected():
        admin.find_element(*by("#add-exception input[name=closed]")).click()
    fill(admin, "#add-exception input[name=reason]", "校庆日")
    click(admin, "#add-exception button")
    assert "调整已添加" in flash(admin)
    assert "校庆日" in admin.find_element(*by("#exceptions")).text

    # A simulated reader sees the published menu, taps 开放时间 and asks in words: closed today.
    openid = "oSimConsoleReader00000000001"
    reader(base, openid, "follow")
    answer = reader(base, openid, "click", key="OPENING_HOURS")["reply"]["content"]
    assert "总馆：闭馆（校庆日）" in answer and today.isoformat() in answer, answer
    answer = reader(base, openid, "text", content="开放时间")["reply"]["content"]
    assert "闭馆（校庆日）" in answer
    answer = reader(base, openid, "text", content="明天开放吗")["reply"]["content"]
    assert "总馆：08:00–22:00" in answer, answer

    # Announcing the change reaches the reader, who wrote within 48 hours.
    click(admin, "#exceptions .announce")
    assert "已向 1 位" in flash(admin)
    for _ in range(50):
        inbox = requests.get(f"{base}/sim/api/_control/inbox", params={"openid": openid}, timeout=5).json()["messages"]
        if inbox:
            break
        time.sleep(0.2)
    assert "开放时间调整" in inbox[0]["body"]["text"]["content"], inbox

    # The librarian: no admin sections, a clear 403 for them, no publishing of the menu.
    lib = browsers("librarian")
    sign_in(lib, base, "li.ming", "librarian-pw")
    assert lib.current_url.endswith("/console/menu")
    assert not lib.find_elements(*by("#push-menu")) and "发布菜单需要管理员" in lib.page_source
    nav = lib.find_element(*by("nav")).text
    assert "菜单" in nav and "馆员管理" not in nav and "操作日志" not in nav
    lib.get(base + "/console/librarians")
    assert "只有管理员可以进行此操作" in flash(lib)

    # English, remembered for the session.
    click(lib, "#lang-switch")
    assert "Sign out" in lib.find_element(*by("header")).text
    lib.get(base + "/console/hours")
    assert "Opening hours" in lib.find_element(*by("h1")).text

    # No session, or no CSRF token: refused, nothing changed.
    assert requests.post(base + "/console/menu/push", timeout=5).status_code == 401
    cookie = {c["name"]: c["value"] for c in lib.get_cookies()}
    r = requests.post(base + "/console/hours/places", data={"name": "夜间自习室", "hours": "22:00-23:59"}, cookies=cookie, timeout=5)
    assert r.status_code == 403 and "CSRF" in r.text
    lib.get(base + "/console/hours")
    assert "夜间自习室" not in lib.page_source

    # The audit log says who did what.
    admin.get(base + "/console/audit")
    log = admin.find_element(*by("#audit")).text
    for action in ["librarian.add", "menu.save", "menu.push", "hours.place.add", "hours.exception.add", "hours.announce"]:
        assert action in log, log
    assert "chief" in log

    # Signing out ends the session.
    click(lib, "#sign-out")
    lib.get(base + "/console/hours")
    assert "/console/login" in lib.current_url
