"""The same reader's day as the browser test, through the simulator's JSON API (the way scripts
and tests act as a reader): follow through the entrance poster, search by title and open a record,
bind the card through the page the menu opens (web authorisation via the simulator), see loans and
renew, and read the message pushed after binding — and the conversation keeps it all in order."""
import subprocess
import time

import pytest
import requests

from conftest import BIN, free_port

OPENID = "oSimDay0000000000000000000001"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("simday")
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
    yield base
    proc.terminate()
    proc.wait(10)


def act(base, what, **body):
    r = requests.post(f"{base}/sim/readers/{OPENID}/{what}", json=body, timeout=10)
    assert r.status_code == 200, r.text
    j = r.json()
    assert j["outcome"] in ("replied", "success"), j
    return j["reply"].get("content", "") if j.get("reply") else ""


def test_a_readers_day_through_the_json_api(demo):
    base = demo
    assert "欢迎关注" in act(base, "follow", scene="entrance")
    assert "请输入题名" in act(base, "click", key="SEARCH_TITLE")
    assert "题名检索结果" in act(base, "text", content="明代政治制度")
    detail = act(base, "text", content="1")
    assert "《明代政治制度" in detail
    record_url = detail.split('<a href="')[1].split('"')[0]
    assert "明代政治制度" in requests.get(record_url).text

    # The bind page, opened from the menu: the simulator's authorize page knows the reader by the
    # sim_openid cookie, as the phone sets it.
    menu = requests.get(base + "/sim/api/_control/menu").json()["menu"]
    bind_url = next(b["url"] for g in menu["button"] for b in g.get("sub_button", []) if b.get("type") == "view")
    opened = requests.post(f"{base}/sim/readers/{OPENID}/view", json={"url": bind_url}).json()
    s = requests.Session()
    s.cookies.set("sim_openid", OPENID)
    page = s.get(opened.get("open", bind_url))
    token = page.text.split('name="token" value="')[1].split('"')[0]
    done = s.post(base + "/h5/bind", data={"token": token, "card": "2021001", "password": "1234"})
    assert "绑定成功" in done.text

    # The confirmation is a customer-service message pushed after the page answered, so it reaches
    # the conversation a moment later; the reader (like the browser test) reads it before going on.
    # Clicking on at once would make the order below a race between the push and the next click.
    def conversation():
        conv = requests.get(f"{base}/sim/readers/{OPENID}/conversation").json()
        entries = conv.get("entries", conv) if isinstance(conv, dict) else conv
        return "\n".join(str(e) for e in entries)

    for _ in range(150):
        if "已绑定一卡通" in conversation():
            break
        time.sleep(0.2)
    assert "已绑定一卡通" in conversation(), "the bind confirmation never arrived"

    assert "您当前借阅 3 册" in act(base, "click", key="MY_LOANS")
    assert "续借结果" in act(base, "text", content="续借全部")

    # The conversation keeps it all, in the order it happened.
    joined = conversation()
    order = [joined.index(x) for x in ["欢迎关注", "题名检索结果", "已绑定一卡通", "您当前借阅 3 册", "续借结果"]]
    assert order == sorted(order), order
