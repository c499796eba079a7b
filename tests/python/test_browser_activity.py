"""An activity through its life in a real browser (headless Chromium over WebDriver) on the real
`wxlib serve` with the simulator: a librarian signs in to the console and creates an activity;
simulated readers (the simulator's JSON API) see it in the activity notice, sign up in chat, fill
the places and wait; a cancellation gives the place to the first waiting reader, who is told;
the librarian moves the start to now; readers check in by scanning the activity's code (a
follower, a walk-in, a new follower); the librarian publishes the report; an attendee gives
feedback on the web page opened from chat in the phone; the console shows sign-ups, waiting
list, check-ins and the feedback. Wrong input in the form is refused with a message and creates
nothing; a POST without the CSRF token is refused. Screenshots of failures are saved under the
test's temporary directory."""
import datetime
import sqlite3

import pytest
import requests

from browser import chrome, close, require_chromium, wait_for, wxlib_site

CST = datetime.timezone(datetime.timedelta(hours=8))
PASSWORD = "correct horse battery"


def local(dt):
    """The value a datetime-local input holds, in China Standard Time."""
    return dt.astimezone(CST).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture(scope="module")
def account(tmp_path_factory):
    require_chromium()
    tmp = tmp_path_factory.mktemp("activity")
    with wxlib_site(tmp, "curator", PASSWORD, push_menu=True) as base:
        yield base, tmp


@pytest.fixture
def browser(account, request):
    driver = chrome(account[1], request.node.name, window="1100,1200")
    yield driver
    close(driver, request, account[1])


class Reader:
    """A simulated WeChat user, through the simulator's reader JSON API."""

    def __init__(self, base, openid):
        self.base, self.openid = base, openid

    def act(self, action, body=None):
        r = requests.post(f"{self.base}/sim/readers/{self.openid}/{action}", json=body or {}, timeout=15)
        assert r.status_code == 200, r.text
        return r.json()

    def say(self, text):
        v = self.act("text", {"content": text})
        assert v["outcome"] == "replied", v
        return v["reply"]["content"]

    def scan(self, scene):
        requests.post(f"{self.base}/sim/api/_control/advance", json={"seconds": 2}, timeout=5)
        v = self.act("scan", {"scene": scene})
        assert v["outcome"] == "replied", v
        return v["reply"]["content"]

    def inbox(self):
        return requests.get(f"{self.base}/sim/api/_control/inbox", params={"openid": self.openid}, timeout=5).json()["messages"]


def set_field(d, name, value):
    """Types into a form field; datetime-local inputs are set as the browser stores them."""
    from selenium.webdriver.common.by import By
    el = d.find_element(By.NAME, name)
    if el.get_attribute("type") == "datetime-local":
        d.execute_script("arguments[0].value = arguments[1]", el, value)
    else:
        el.clear()
        el.send_keys(value)


def fill_activity(d, fields):
    from selenium.webdriver.common.by import By
    for name, value in fields.items():
        set_field(d, name, value)
    d.find_element(By.ID, "save-activity").click()


def test_an_activity_from_announcement_to_feedback(account, browser):
    from selenium.webdriver.common.by import By
    base, tmp = account
    d = browser
    db = lambda: sqlite3.connect(tmp / "data" / "wxlib.db")  # noqa: E731

    # Without a session the console is closed; a POST without the CSRF token changes nothing.
    s = requests.Session()
    r = s.post(base + "/console/activities", data={"title": "x"}, allow_redirects=False, timeout=5)
    assert r.status_code in (302, 303, 401, 403), r.status_code

    # Sign in.
    d.get(base + "/console/login")
    d.find_element(By.ID, "username").send_keys("curator")
    d.find_element(By.ID, "password").send_keys(PASSWORD)
    d.find_element(By.ID, "sign-in").click()
    wait_for(lambda: "/console/login" not in d.current_url, "the sign-in")

    # A wrong form: every problem named, nothing created.
    now = datetime.datetime.now(datetime.timezone.utc)
    d.get(base + "/console/activities/new")
    fill_activity(d, {"title": "", "place": "总馆 301", "description": "x", "starts_at": local(now + datetime.timedelta(hours=2)),
                      "ends_at": local(now + datetime.timedelta(hours=1)), "signup_deadline": local(now + datetime.timedelta(minutes=30)), "capacity": "0"})
    errors = wait_for(lambda: d.find_elements(By.CSS_SELECTOR, ".flash.error"), "the form's errors")
    text = " ".join(e.text for e in errors)
    assert "请填写活动名称" in text and "结束时间须晚于开始时间" in text and "名额" in text, text
    assert db().execute("SELECT COUNT(*) FROM activities").fetchone() == (0,)

    # The activity: two places, starting in two hours, sign-up open for one.
    fill_activity(d, {"title": "真人图书馆：科幻写作", "place": "总馆 301 研讨室", "description": "与作者面对面。\n请提前 10 分钟到场。",
                      "starts_at": local(now + datetime.timedelta(hours=2)), "ends_at": local(now + datetime.timedelta(hours=4)),
                      "signup_deadline": local(now + datetime.timedelta(hours=1)), "capacity": "2"})
    wait_for(lambda: "签到二维码已生成" in d.find_element(By.TAG_NAME, "body").text, "the activity page with its code")
    activity_id = int(d.current_url.split("/console/activities/")[1].split("?")[0])
    assert d.find_element(By.ID, "qr-image").get_attribute("src").endswith(f"/console/activities/{activity_id}/qr.svg")
    assert requests.get(d.find_element(By.ID, "showqrcode").get_attribute("href"), timeout=5).headers["content-type"].startswith("image/svg")
    codes = requests.get(base + "/sim/api/_control/qrcodes", timeout=5).json()
    assert f"act:{activity_id}" in str(codes)

    # Readers see it in the notice and sign up in chat; the third and fourth wait.
    a, b, c, w = (Reader(base, f"oActivityReader{i}") for i in "abcw")
    for r in (a, b, c, w):
        r.act("follow")
    notice = a.act("click", {"key": "ACTIVITIES"})["reply"]["content"]
    assert f"【{activity_id}】" in notice and "科幻写作" in notice and "剩余 2 个名额" in notice, notice
    assert a.say(f"报名 {activity_id}").startswith("报名成功")
    assert b.say(f"报名 {activity_id}").startswith("报名成功")
    assert "第 1 位" in c.say(f"报名 {activity_id}")
    assert "第 2 位" in w.say(f"signup {activity_id}")
    assert "没有编号为 99999 的活动" in a.say("报名 99999")

    # The public announcement shows it is full.
    d.get(f"{base}/activities/{activity_id}")
    assert "名额已满" in d.find_element(By.TAG_NAME, "body").text

    # A cancels: C gets the place and is told.
    assert a.say(f"取消报名 {activity_id}").startswith("已取消")
    wait_for(lambda: any("候补成功" in str(m) for m in c.inbox()), "the promoted reader to be told")
    assert "候补第 1 位" in w.say("我的活动")

    # The console: places, then the waiting list, then the cancellation.
    d.get(f"{base}/console/activities/{activity_id}")
    rows = [r.text for r in d.find_elements(By.CSS_SELECTOR, "#signups tr.signup")]
    assert len(rows) == 4 and "oActivityReaderb" in rows[0] and "oActivityReaderc" in rows[1] and "候补 1" in rows[2] and "已取消" in rows[3], rows
    assert d.find_element(By.ID, "counts").text == "2 / 2"

    # The librarian moves the start to now (it began early); a wrong edit first changes nothing.
    d.find_element(By.ID, "edit-activity").click()
    fill_activity(d, {"capacity": "abc"})
    assert "名额须为" in wait_for(lambda: d.find_element(By.CSS_SELECTOR, ".flash.error").text, "the edit's error")
    start = now - datetime.timedelta(minutes=5)
    fill_activity(d, {"capacity": "2", "signup_opens_at": local(now - datetime.timedelta(days=1)), "signup_deadline": local(start - datetime.timedelta(minutes=1)), "starts_at": local(start)})
    wait_for(lambda: "已保存" in d.find_element(By.TAG_NAME, "body").text, "the edit to be saved")
    assert "进行中" in d.find_element(By.ID, "info").text

    # Check-in by scanning the code: signed up, walk-in, a new follower through the code.
    assert c.scan(f"act:{activity_id}").startswith("签到成功")
    assert "无需重复签到" in c.scan(f"act:{activity_id}")
    assert "现场参加" in a.scan(f"act:{activity_id}")
    newcomer = Reader(base, "oActivityReaderNew")
    v = newcomer.act("scan", {"scene": f"act:{activity_id}"})
    assert v["reply"]["content"].startswith("欢迎关注") and "签到成功" in v["reply"]["content"], v

    # The report, published from the console, shows on the page and in the notice.
    d.get(f"{base}/console/activities/{activity_id}")
    d.find_element(By.ID, "f-report-title").send_keys("活动回顾：科幻写作")
    d.find_element(By.ID, "f-report-body").send_keys("二十位读者与作者交流了两个小时。")
    d.find_element(By.ID, "save-report").click()
    wait_for(lambda: "活动报道已发布" in d.find_element(By.TAG_NAME, "body").text, "the report to be published")
    d.get(f"{base}/activities/{activity_id}")
    assert "二十位读者与作者交流了两个小时" in d.find_element(By.ID, "report").text

    # C gives feedback on the page the check-in reply links to, in the phone's web view.
    d.get(f"{base}/sim?reader={c.openid}")
    link = wait_for(lambda: next((l for l in d.find_elements(By.LINK_TEXT, "填写反馈") if l.is_displayed()), None), "the feedback link in chat")
    link.click()
    wait_for(lambda: "open" in d.find_element(By.ID, "overlay").get_attribute("class"), "the web view to open")
    d.switch_to.frame(d.find_element(By.ID, "webview"))
    try:
        wait_for(lambda: d.find_element(By.ID, "feedback-form"), "the feedback form")
        from selenium.webdriver.support.ui import Select
        Select(d.find_element(By.NAME, "rating")).select_by_value("5")
        d.find_element(By.NAME, "comment").send_keys("很有收获，希望多办")
        d.find_element(By.ID, "feedback").click()
        assert "感谢您的反馈" in wait_for(lambda: d.find_element(By.ID, "flash").text, "the thanks")
    finally:
        d.switch_to.default_content()

    # The console shows check-ins and the feedback.
    d.get(f"{base}/console/activities/{activity_id}")
    checkins = [r.text for r in d.find_elements(By.CSS_SELECTOR, "#checkins tr.checkin")]
    assert len(checkins) == 3 and sum("现场参加" in r for r in checkins) == 2, checkins
    assert "5.0" in d.find_element(By.ID, "feedback-summary").text
    assert "很有收获，希望多办" in d.find_element(By.ID, "comments").text

    # Every change was audited.
    actions = [row[0] for row in db().execute("SELECT action FROM audit_log ORDER BY id")]
    assert actions.count("activity.create") == 1 and "activity.update" in actions and "activity.report" in actions, actions
