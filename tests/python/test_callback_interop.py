"""The front door against wechatpy: URL check, plain/compatible/safe mode, every message type and
event, and every way a callback can be bad — each refused with its status and a log line while the
server keeps serving."""
import base64
import concurrent.futures
import sqlite3
import struct
import subprocess
import time

import pytest
import requests
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from wechatpy import parse_message
from wechatpy.crypto import PrpCrypto, _get_signature
from wechatpy.utils import WeChatSigner

from conftest import AESKEY, APPID, BIN, GH, TOKEN, Server, WeChat, message, sha1_sorted


def test_url_check_echoes_echostr_with_a_wechatpy_signature(server):
    signer = WeChatSigner()
    ts, nonce = str(int(time.time())), "1514711492"
    signer.add_data(TOKEN, ts, nonce)
    r = requests.get(server.url + "/wechat", params=dict(signature=signer.signature, timestamp=ts, nonce=nonce, echostr="4375120948345356249"))
    assert (r.status_code, r.text) == (200, "4375120948345356249")
    r = requests.get(server.url + "/wechat", params=dict(signature="0" * 40, timestamp=ts, nonce=nonce, echostr="1"))
    assert r.status_code == 401 and r.text.strip() == "bad signature"


def test_wecom_style_url_check_with_encrypted_echostr(server):
    ts, nonce = str(int(time.time())), "263014780"
    echostr = PrpCrypto(base64.b64decode(AESKEY + "=")).encrypt("1616140317555161061", APPID).decode()
    sig = _get_signature(TOKEN, ts, nonce, echostr)
    r = requests.get(server.url + "/wechat", params=dict(msg_signature=sig, timestamp=ts, nonce=nonce, echostr=echostr))
    assert (r.status_code, r.text) == (200, "1616140317555161061")


@pytest.fixture
def compatible(tmp_path):
    """A server whose account is in compatible mode (兼容模式), chosen explicitly."""
    s = Server(tmp_path, extra_env={"WXLIB_WECHAT__MESSAGE_MODE": "compatible"})
    yield s
    s.stop()


@pytest.mark.parametrize("mode", ["plain", "compatible", "safe"])
def test_text_message_in_every_mode(compatible, mode):
    wx = WeChat(compatible.url)
    q, body = wx.seal(message("text", "<Content><![CDATA[帮助]]></Content>"), mode)
    r = wx.post(q, body)
    assert r.status_code == 200
    reply = wx.open(r)
    assert reply["MsgType"] == "text"
    assert reply["ToUserName"] == "oReader0000000000000000000001"
    assert reply["FromUserName"] == GH
    assert "检索馆藏" in reply["Content"]
    if mode == "plain":
        assert "<Encrypt>" not in r.text
    else:
        assert "<Encrypt>" in r.text


def test_safe_mode_refuses_a_plain_message_and_takes_both_encrypted_forms(wx, server):
    """With a key and no message_mode, the account is in safe mode: a plain callback, although
    signed with the token, is refused; the compatible-mode body (plain fields beside <Encrypt>) is
    read from its ciphertext."""
    r = wx.post(*wx.seal(message("text", "<Content>帮助</Content>"), "plain"))
    assert (r.status_code, "reason=not_encrypted" in server.logs() or 'reason="not_encrypted' in server.logs()) == (403, True), r.text
    for mode in ["compatible", "safe"]:
        r = wx.post(*wx.seal(message("text", "<Content>帮助</Content>"), mode))
        assert r.status_code == 200 and "<Encrypt>" in r.text and "检索馆藏" in wx.open(r)["Content"], mode


MESSAGES = [
    ("text", "<Content><![CDATA[三体]]></Content>"),
    ("image", "<PicUrl><![CDATA[http://mmbiz/x.jpg]]></PicUrl><MediaId><![CDATA[m1]]></MediaId>"),
    ("voice", "<MediaId><![CDATA[m]]></MediaId><Format><![CDATA[amr]]></Format><MediaId16K><![CDATA[k]]></MediaId16K>"),
    ("video", "<MediaId><![CDATA[m]]></MediaId><ThumbMediaId><![CDATA[t]]></ThumbMediaId>"),
    ("shortvideo", "<MediaId><![CDATA[m]]></MediaId><ThumbMediaId><![CDATA[t]]></ThumbMediaId>"),
    ("location", "<Location_X>23.134521</Location_X><Location_Y>113.358803</Location_Y><Scale>20</Scale><Label><![CDATA[图书馆]]></Label>"),
    ("link", "<Title><![CDATA[t]]></Title><Description><![CDATA[d]]></Description><Url><![CDATA[http://x]]></Url>"),
    ("miniprogrampage", "<Title><![CDATA[a kind WeChat may add]]></Title>"),
]


@pytest.mark.parametrize("msg_type,fields", MESSAGES, ids=[m[0] for m in MESSAGES])
def test_every_message_type_gets_a_valid_reply(wx, server, msg_type, fields):
    plain = message(msg_type, fields)
    parsed = parse_message(plain)  # wechatpy agrees this is a well-formed message
    assert parsed.type in (msg_type, "unknown")
    r = wx.post(*wx.seal(plain))
    assert r.status_code == 200, r.text
    reply = wx.open(r)
    assert reply["MsgType"] == "text" and reply["Content"]


EVENTS = [
    ("subscribe_plain", "<Event><![CDATA[subscribe]]></Event>", "welcome"),
    ("subscribe_qr", "<Event><![CDATA[subscribe]]></Event><EventKey><![CDATA[qrscene_entrance]]></EventKey><Ticket><![CDATA[TICKET]]></Ticket>", "welcome"),
    ("unsubscribe", "<Event><![CDATA[unsubscribe]]></Event>", "success"),
    ("SCAN", "<Event><![CDATA[SCAN]]></Event><EventKey><![CDATA[entrance]]></EventKey><Ticket><![CDATA[T]]></Ticket>", "success"),
    ("LOCATION", "<Event><![CDATA[LOCATION]]></Event><Latitude>23.137466</Latitude><Longitude>113.352425</Longitude><Precision>119.385040</Precision>", "success"),
    ("CLICK", "<Event><![CDATA[CLICK]]></Event><EventKey><![CDATA[UNKNOWN_KEY]]></EventKey>", "success"),
    ("VIEW", "<Event><![CDATA[VIEW]]></Event><EventKey><![CDATA[http://lib/h5]]></EventKey><MenuId>1</MenuId>", "success"),
    ("scancode_push", "<Event><![CDATA[scancode_push]]></Event><EventKey><![CDATA[k]]></EventKey><ScanCodeInfo><ScanType><![CDATA[qrcode]]></ScanType><ScanResult><![CDATA[1]]></ScanResult></ScanCodeInfo>", "success"),
    ("scancode_waitmsg", "<Event><![CDATA[scancode_waitmsg]]></Event><EventKey><![CDATA[k]]></EventKey><ScanCodeInfo><ScanType><![CDATA[barcode]]></ScanType><ScanResult><![CDATA[9787]]></ScanResult></ScanCodeInfo>", "success"),
    ("pic_sysphoto", "<Event><![CDATA[pic_sysphoto]]></Event><EventKey><![CDATA[k]]></EventKey><SendPicsInfo><Count>1</Count><PicList><item><PicMd5Sum><![CDATA[abc]]></PicMd5Sum></item></PicList></SendPicsInfo>", "success"),
    ("pic_photo_or_album", "<Event><![CDATA[pic_photo_or_album]]></Event><EventKey><![CDATA[k]]></EventKey><SendPicsInfo><Count>0</Count><PicList></PicList></SendPicsInfo>", "success"),
    ("pic_weixin", "<Event><![CDATA[pic_weixin]]></Event><EventKey><![CDATA[k]]></EventKey><SendPicsInfo><Count>0</Count><PicList></PicList></SendPicsInfo>", "success"),
    ("location_select", "<Event><![CDATA[location_select]]></Event><EventKey><![CDATA[k]]></EventKey><SendLocationInfo><Location_X><![CDATA[23]]></Location_X><Location_Y><![CDATA[113]]></Location_Y><Scale><![CDATA[15]]></Scale><Label><![CDATA[L]]></Label><Poiname><![CDATA[]]></Poiname></SendLocationInfo>", "success"),
    ("view_miniprogram", "<Event><![CDATA[view_miniprogram]]></Event><EventKey><![CDATA[pages/index]]></EventKey><MenuId>1</MenuId>", "success"),
    ("TEMPLATESENDJOBFINISH", "<Event><![CDATA[TEMPLATESENDJOBFINISH]]></Event><MsgID>200163836</MsgID><Status><![CDATA[success]]></Status>", "success"),
    ("MASSSENDJOBFINISH", "<Event><![CDATA[MASSSENDJOBFINISH]]></Event><MsgID>1000001625</MsgID><Status><![CDATA[err(30003)]]></Status><TotalCount>0</TotalCount><FilterCount>0</FilterCount><SentCount>0</SentCount><ErrorCount>0</ErrorCount>", "success"),
    ("PUBLISHJOBFINISH", "<Event><![CDATA[PUBLISHJOBFINISH]]></Event><PublishEventInfo><publish_id>2247503051</publish_id><publish_status>0</publish_status><article_id><![CDATA[b5O2]]></article_id></PublishEventInfo>", "success"),
    ("unknown_event", "<Event><![CDATA[debug_demo]]></Event><debug_str><![CDATA[hello world]]></debug_str>", "success"),
]


@pytest.mark.parametrize("name,fields,expect", EVENTS, ids=[e[0] for e in EVENTS])
def test_every_event(wx, server, name, fields, expect):
    openid = f"oEvent{name}"[:28]
    r = wx.post(*wx.seal(message("event", fields, openid=openid)))
    assert r.status_code == 200, r.text
    reply = wx.open(r)
    if expect == "success":
        assert reply == "success"
    else:
        assert reply["MsgType"] == "text" and "欢迎" in reply["Content"]


def test_follows_and_events_are_recorded(wx, server):
    openid = "oRecorded000000000000000001"
    wx.post(*wx.seal(message("event", "<Event>subscribe</Event><EventKey>qrscene_library-door</EventKey><Ticket>T</Ticket>", openid=openid)))
    wx.post(*wx.seal(message("text", "<Content>hi</Content>", openid=openid)))
    wx.post(*wx.seal(message("event", "<Event>unsubscribe</Event>", openid=openid)))
    db = sqlite3.connect(server.dir / "data" / "wxlib.db")
    row = db.execute("SELECT subscribed, first_scene, unsubscribed_at IS NOT NULL FROM followers WHERE openid = ?", (openid,)).fetchone()
    assert row == (0, "library-door", 1)
    kinds = db.execute("SELECT msg_type, event, event_key FROM event_log WHERE openid = ? ORDER BY id", (openid,)).fetchall()
    assert kinds == [("event", "subscribe", "qrscene_library-door"), ("text", None, None), ("event", "unsubscribe", None)]


def raw_encrypt(plaintext: bytes, key: bytes) -> str:
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(enc.update(plaintext) + enc.finalize()).decode()


def bad_callbacks(wx):
    """(name, query, body, status, log reason) for every kind of bad input."""
    plain = message("text", "<Content>x</Content>")
    good_q, good_body = wx.seal(plain)
    cases = []
    q = dict(good_q, signature="0" * 40)
    cases.append(("tampered signature", q, good_body, 401, "bad_signature"))
    q = dict(good_q, msg_signature="0" * 40)
    cases.append(("tampered msg_signature", q, good_body, 401, "bad_signature"))
    cases.append(("wrong appid", *wx.seal(plain, appid="wxOTHERAPPID00000"), 403, "wrong_appid"))
    other_key = base64.b64decode("B" * 43 + "=")
    cases.append(("wrong key", *wx.seal(plain, key=other_key), 400, "bad_ciphertext"))
    # Truncated ciphertext: drop 8 base64 characters and re-sign so only the crypto can object.
    enc = PrpCrypto(wx.key).encrypt(plain, APPID).decode()[:-8]
    q = wx.query()
    q.update(encrypt_type="aes", msg_signature=_get_signature(TOKEN, q["timestamp"], q["nonce"], enc))
    cases.append(("truncated ciphertext", q, f"<xml><Encrypt><![CDATA[{enc}]]></Encrypt></xml>".encode(), 400, "bad_"))
    # Bad padding: a valid layout whose last byte is 0 (outside 1..32).
    body = b"0123456789abcdef" + struct.pack(">I", len(plain)) + plain.encode() + APPID.encode()
    body += b"\x00" * (32 - len(body) % 32)
    enc = raw_encrypt(body, wx.key)
    q = wx.query()
    q.update(encrypt_type="aes", msg_signature=_get_signature(TOKEN, q["timestamp"], q["nonce"], enc))
    cases.append(("bad padding", q, f"<xml><Encrypt><![CDATA[{enc}]]></Encrypt></xml>".encode(), 400, "bad_ciphertext"))
    # Not base64.
    enc = "@@@not-base64@@@"
    q = wx.query()
    q.update(encrypt_type="aes", msg_signature=_get_signature(TOKEN, q["timestamp"], q["nonce"], enc))
    cases.append(("bad base64", q, f"<xml><Encrypt>{enc}</Encrypt></xml>".encode(), 400, "bad_base64"))
    cases.append(("malformed XML", *wx.seal("<xml><ToUserName>gh</ToUserName", mode="plain"), 400, "malformed_xml"))
    q, _ = wx.seal(plain, mode="plain")
    cases.append(("malformed outer XML", dict(good_q), b"<xml><Encrypt>abc</Encrypt", 400, "malformed_xml"))
    cases.append(("XXE doctype", q, b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><Content>&e;</Content></xml>', 400, "malformed_xml"))
    cases.append(("oversized XML", q, b"<xml><Content>" + b"x" * 70000 + b"</Content></xml>", 413, "bad_body"))
    cases.append(("not a message", q, b"<xml><Hello>1</Hello></xml>", 400, "bad_message"))
    return cases


@pytest.mark.parametrize("account", ["safe", "compatible"])
def test_bad_input_is_refused_logged_and_the_server_keeps_serving(tmp_path, account):
    """In compatible mode the plain cases reach the XML reader; in safe mode they are refused
    before it (a plain body is never parsed), except the oversized one, refused as it is read."""
    server = Server(tmp_path, extra_env={"WXLIB_WECHAT__MESSAGE_MODE": account})
    try:
        _bad_input_is_refused(WeChat(server.url), server, account)
    finally:
        server.stop()


def _bad_input_is_refused(wx, server, account):
    for name, q, body, status, reason in bad_callbacks(wx):
        if account == "safe" and "encrypt_type" not in q and status != 413:
            status, reason = 403, "not_encrypted"
        r = wx.post(q, body)
        assert r.status_code == status, f"{name}: {r.status_code} {r.text}"
        assert r.text.strip(), f"{name}: a clear reason in the body"
        assert f'reason="{reason}' in server.logs() or f"reason={reason}" in server.logs(), f"{name}: log line"
        ok = wx.post(*wx.seal(message("text", "<Content>帮助</Content>")))
        assert ok.status_code == 200 and wx.open(ok)["MsgType"] == "text", f"still serving after {name}"
    assert server.proc.poll() is None


def test_retries_are_handled_once_and_each_gets_a_valid_answer(wx, server):
    openid = "oRetry0000000000000000000001"
    q, body = wx.seal(message("text", "<Content>帮助</Content>", openid=openid, msg_id=7001))
    answers = [wx.open(wx.post(q, body)) for _ in range(3)]
    q2, body2 = wx.seal(message("text", "<Content>帮助</Content>", openid=openid, msg_id=7002))
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        answers += [wx.open(r) for r in pool.map(lambda _: wx.post(q2, body2), range(3))]
    assert all(a["MsgType"] == "text" and "检索馆藏" in a["Content"] for a in answers)
    db = sqlite3.connect(server.dir / "data" / "wxlib.db")
    assert db.execute("SELECT COUNT(*) FROM event_log WHERE openid = ?", (openid,)).fetchone() == (2,)
    metrics = server.metrics()
    assert 'outcome="duplicate"' in metrics


def test_retries_across_two_processes_sharing_postgresql(tmp_path, pg_database):
    from conftest import psql
    url, name = pg_database
    a = Server(tmp_path, storage_url=f"{url}/{name}")
    b = Server(tmp_path, storage_url=f"{url}/{name}")
    try:
        wa, wb = WeChat(a.url), WeChat(b.url)
        openid = "oTwoNodes00000000000000000001"
        q, body = wa.seal(message("text", "<Content>帮助</Content>", openid=openid, msg_id=9001))
        targets = [a.url, b.url, a.url, b.url, a.url, b.url]
        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            responses = list(pool.map(lambda u: wa.post(q, body, url=u), targets))
        answers = [wa.open(r) for r in responses]
        assert all(r.status_code == 200 for r in responses)
        assert all(a_["MsgType"] == "text" and "检索馆藏" in a_["Content"] for a_ in answers)
        assert psql(url, name, f"SELECT COUNT(*) FROM event_log WHERE openid = '{openid}'") == "1"
    finally:
        a.stop()
        b.stop()


def test_environment_overrides_the_file(tmp_path):
    s = Server(tmp_path, extra_env={"WXLIB_WECHAT__TOKEN": "envtoken"})
    try:
        ts, nonce = str(int(time.time())), "42"
        r = requests.get(s.url + "/wechat", params=dict(signature=sha1_sorted("envtoken", ts, nonce), timestamp=ts, nonce=nonce, echostr="ok1"))
        assert (r.status_code, r.text) == (200, "ok1")
    finally:
        s.stop()


def test_bad_configuration_names_the_key(tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[wechat]\ntoken = "libtoken"\nencoding_aes_key = "tooshort"\napp_id = "wx1"\n')
    out = subprocess.run([BIN, "serve", "--config", str(cfg)], capture_output=True, text=True, timeout=20)
    assert out.returncode != 0
    assert "wechat.encoding_aes_key" in out.stderr
    cfg.write_text('[wechat]\ntoken = "libtoken"\nreply_deadline_ms = "soon"\n')
    out = subprocess.run([BIN, "serve", "--config", str(cfg)], capture_output=True, text=True, timeout=20)
    assert out.returncode != 0 and "reply_deadline_ms" in out.stderr


def test_node_wechat_crypto_peer_round_trip(server):
    """An independent implementation (npm wechat-crypto) encrypts the message and decrypts our reply."""
    import os, pathlib, shutil
    node_dir = pathlib.Path(__file__).resolve().parents[1] / "node"
    if not (node_dir / "node_modules" / "wechat-crypto").exists():
        if os.environ.get("CI"):
            pytest.fail("tests/node/node_modules missing: run the test command, which installs it")
        pytest.skip("!!! npm wechat-crypto not installed")
    out = subprocess.run(["node", str(node_dir / "roundtrip.js"), server.url, TOKEN, AESKEY, APPID], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "REPLY OK" in out.stdout
