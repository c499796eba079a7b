"""Borrowing end to end over the WeChat callback (wechatpy-signed, safe mode) on the built-in
library system: bind through the web-authorisation page, list loans, renew one, renew all with
refusals (another reader's hold; the renewal limit), place a hold, the hot list, unbind, and see
that nothing about the reader remains. WeChat's API (web authorisation, pushes) is the
simulator's stand-in, served by the server itself."""
import datetime
import re
import sqlite3

import pytest

from conftest import MARC, Server, SimulatedWeChat, WeChat, message

READER = "oBorrower000000000000000001"
OTHER = "oOtherReader000000000000001"


def day(offset):
    return (datetime.date.today() + datetime.timedelta(days=offset)).isoformat()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("borrowing")
    (tmp / "readers.csv").write_text("card,name,password\n2021001,张三,pw-Secret-1234\n2021002,李四,5678\n")
    (tmp / "items.csv").write_text(
        "barcode,record_id,location,call_number\n"
        "B001,00049916,总馆二层,DS753 .Z444\nB002,00049916,总馆二层,DS753 .Z444\n"
        "B003,00008220,总馆三层,RL321\nB004,00008198,总馆三层,QC16.E5\n"
    )
    (tmp / "loans.csv").write_text(f"card,barcode,loaned_on,due_on\n2021001,B001,{day(-28)},{day(2)}\n2021001,B003,{day(-20)},{day(10)}\n2021001,B004,{day(-25)},{day(5)}\n")
    server = Server(
        tmp,
        simulator=True,
        import_files=[MARC / "lc-books2016-zh-4000.mrc", MARC / "lc-books2016-en-4000.mrc"],
        loads=[("readers", tmp / "readers.csv"), ("items", tmp / "items.csv"), ("loans", tmp / "loans.csv")],
        extra_config="[circulation]\nmax_renewals = 1\n",
    )
    api = SimulatedWeChat(server)
    for reader in (READER, OTHER):
        api.follow(reader)
    yield server, api
    server.stop()


def say(server, openid, text):
    SimulatedWeChat(server).sent_message(openid)
    wx = WeChat(server.url)
    reply = wx.open(wx.post(*wx.seal(message("text", f"<Content><![CDATA[{text}]]></Content>", openid=openid))))
    return reply["Content"]


def bind(server, api, openid, card, password):
    """Opens /h5/bind as WeChat's in-app browser would: redirect to authorisation, back with a code."""
    s = api.web_session(openid)
    page = s.get(server.url + "/h5/bind")  # follows the redirect through the authorize page
    assert page.status_code == 200, page.text
    token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
    return s.post(server.url + "/h5/bind", data={"token": token, "card": card, "password": password})


def test_not_bound_reader_is_told_how_to_bind(world):
    server, _ = world
    answer = say(server, READER, "借阅")
    assert "还没有绑定" in answer and "/h5/bind" in answer


def test_bind_wrong_password_then_right(world):
    server, api = world
    bad = bind(server, api, READER, "2021001", "0000")
    assert bad.status_code == 401 and "不正确" in bad.text
    ok = bind(server, api, READER, "2021001", "pw-Secret-1234")
    assert ok.status_code == 200 and "绑定成功" in ok.text and "张三" in ok.text
    db = sqlite3.connect(server.dir / "data" / "wxlib.db")
    assert db.execute("SELECT card FROM bindings WHERE openid = ?", (READER,)).fetchone() == ("2021001",)
    # The password is nowhere in the store (the built-in library system keeps an argon2 hash).
    dump = "\n".join(db.iterdump())
    assert "pw-Secret" not in dump
    assert db.execute("SELECT password_hash FROM ils_readers WHERE card = '2021001'").fetchone()[0].startswith("$argon2")
    assert bind(server, api, OTHER, "2021002", "5678").status_code == 200


def test_binding_attempts_are_rate_limited(world):
    server, api = world
    for _ in range(5):
        assert bind(server, api, "oGuesser0000000000000000001", "2021002", "bad").status_code == 401
    assert bind(server, api, "oGuesser0000000000000000001", "2021002", "5678").status_code == 429


def test_loans_renew_one_and_renew_all_with_refusals(world):
    server, _ = world
    loans = say(server, READER, "借阅")
    assert "张三，您当前借阅 3 册" in loans
    assert loans.index("明代政治制度") < loans.index("Albert Einstein") < loans.index("psoriasis"), loans
    assert day(2) in loans
    # Another reader holds the Einstein book: it cannot be renewed.
    say(server, OTHER, "Albert Einstein genius behind the theory of relativity")
    assert "《Albert Einstein" in say(server, OTHER, "1")
    assert "已为您预约" in say(server, OTHER, "预约")
    renewed = say(server, READER, "续借 1")
    assert "成功 1 册" in renewed and "明代政治制度" in renewed
    result = say(server, READER, "续借全部")
    assert "成功 1 册，未成功 2 册" in result, result
    assert re.search(r"✗ 明代政治制度.*达到上限", result), result
    assert re.search(r"✗ Albert Einstein.*其他读者预约", result), result
    assert re.search(r"✓ Coping with psoriasis", result), result


def test_holds_listed_and_cancelled(world):
    server, _ = world
    holds = say(server, OTHER, "我的预约")
    assert "Albert Einstein" in holds and "等待中" in holds
    assert "已取消" in say(server, OTHER, "取消预约 1")
    assert "没有预约" in say(server, OTHER, "我的预约")


def test_hot_list(world):
    server, _ = world
    hot = say(server, READER, "热门借阅")
    assert "热门借阅" in hot and "/opac/record/" in hot


def test_unbind_forgets_the_reader(world):
    server, _ = world
    say(server, READER, "明代政治制度")  # leaves a search dialog and a logged search
    assert "确认解绑" in say(server, READER, "解绑")
    assert "已解除绑定" in say(server, READER, "确认解绑")
    db = sqlite3.connect(server.dir / "data" / "wxlib.db")
    for table in ["bindings", "reminders_sent", "reminder_digests", "dialog_state", "search_log"]:
        assert db.execute(f"SELECT COUNT(*) FROM {table} WHERE openid = ?", (READER,)).fetchone() == (0,), table
    assert db.execute("SELECT COUNT(*) FROM attempt_counters WHERE key LIKE '%2021001%'").fetchone() == (0,)
    assert "还没有绑定" in say(server, READER, "借阅")


def test_unfollow_unbinds(world):
    server, api = world
    api.unfollow(OTHER)
    wx = WeChat(server.url)
    wx.post(*wx.seal(message("event", "<Event><![CDATA[unsubscribe]]></Event>", openid=OTHER)))
    db = sqlite3.connect(server.dir / "data" / "wxlib.db")
    assert db.execute("SELECT COUNT(*) FROM bindings WHERE openid = ?", (OTHER,)).fetchone() == (0,)
