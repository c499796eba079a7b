"""Shared fixtures: start real `wxlib serve` processes and talk to them as WeChat does, with wechatpy.

The binary comes from $WXLIB_BIN (default: target/debug/wxlib). PostgreSQL tests use
$WXLIB_TEST_PG (a server URL without database); in CI they are mandatory.
"""
import base64
import hashlib
import os
import pathlib
import random
import socket
import subprocess
import time
import uuid

import pytest
import requests
import xmltodict
from wechatpy.crypto import PrpCrypto, WeChatCrypto, _get_signature

ROOT = pathlib.Path(__file__).resolve().parents[2]
# The test MARC records (origin and licence in tests/data/marc/README.md).
MARC = ROOT / "tests" / "data" / "marc"
BIN = os.environ.get("WXLIB_BIN", str(ROOT / "target" / "debug" / "wxlib"))
TOKEN = "libtoken"
AESKEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APPID = "wx1234567890abcdef"
GH = "gh_0123456789ab"
# server.metrics_token of every test server: /metrics on the main listener needs it.
METRICS_TOKEN = "python-tests-metrics-token"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sha1_sorted(*parts):
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


class Server:
    """A running `wxlib serve` with its own config, data directory and log file."""

    def __init__(self, tmp_path, storage_url="", extra_env=None, extra_config="", import_files=(), api_base="http://127.0.0.1:9", loads=(),
                 simulator=False, server_config=""):
        """`simulator`: serve WeChat's API stand-in from this server (`/sim/api`, see
        `SimulatedWeChat`) and point `wechat.api_base` and `oauth_base` at it. `server_config`:
        more lines of the `[server]` section."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.dir = tmp_path / f"wx{self.port}"
        self.dir.mkdir()
        self.config = self.dir / "wxlib.toml"
        if simulator:
            api_base = self.url + "/sim/api"
            extra_config = "[simulator]\nenabled = true\n" + extra_config
        self.config.write_text(
            f"""
[server]
listen = "127.0.0.1:{self.port}"
data_dir = "{self.dir / 'data'}"
public_url = "http://127.0.0.1:{self.port}"
metrics_token = "{METRICS_TOKEN}"
{server_config}
[wechat]
app_id = "{APPID}"
app_secret = "secret"
token = "{TOKEN}"
encoding_aes_key = "{AESKEY}"
api_base = "{api_base}"
oauth_base = "{api_base}"
[storage]
url = "{storage_url}"
{extra_config}
"""
        )
        self.log_path = self.dir / "server.log"
        env = dict(os.environ, RUST_LOG="info", **(extra_env or {}))
        if import_files:
            out = subprocess.run([BIN, "import", "--config", str(self.config), *map(str, import_files)], capture_output=True, text=True, env=env, timeout=600)
            if out.returncode != 0:
                raise RuntimeError(f"wxlib import failed: {out.stdout}{out.stderr}")
            self.import_output = out.stdout
        for what, path in loads:
            out = subprocess.run([BIN, "load", "--config", str(self.config), what, str(path)], capture_output=True, text=True, env=env, timeout=300)
            if out.returncode != 0 or "errors 0" not in out.stdout:
                raise RuntimeError(f"wxlib load {what} failed: {out.stdout}{out.stderr}")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([BIN, "serve", "--config", str(self.config)], stdout=self.log, stderr=subprocess.STDOUT, env=env)
        for _ in range(200):
            if self.proc.poll() is not None:
                raise RuntimeError(f"wxlib exited: {self.log_path.read_text()}")
            try:
                if requests.get(self.url + "/healthz", timeout=0.5).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.05)
        else:
            raise RuntimeError("wxlib did not start")

    def logs(self):
        return self.log_path.read_text()

    def metrics(self):
        """The Prometheus text of /metrics (with the bearer token it needs)."""
        r = requests.get(self.url + "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10)
        r.raise_for_status()
        return r.text

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


class WeChat:
    """Plays WeChat's servers: signs, encrypts and posts callbacks; decrypts and verifies replies."""

    def __init__(self, base_url, token=TOKEN, aes_key=AESKEY, appid=APPID):
        self.base_url = base_url
        self.token, self.aes_key, self.appid = token, aes_key, appid
        self.key = base64.b64decode(aes_key + "=")
        self.crypto = WeChatCrypto(token, aes_key, appid)

    def query(self, ts=None, nonce=None):
        ts = ts or str(int(time.time()))
        nonce = nonce or str(random.randint(1, 2**31))
        return dict(signature=sha1_sorted(self.token, ts, nonce), timestamp=ts, nonce=nonce, openid="o")

    def seal(self, plain_xml, mode="safe", ts=None, nonce=None, appid=None, key=None):
        """Returns (query, body) for a callback in the given mode: plain, compatible or safe."""
        q = self.query(ts, nonce)
        if mode == "plain":
            return q, plain_xml.encode()
        encrypt = PrpCrypto(key or self.key).encrypt(plain_xml, appid or self.appid).decode()
        q.update(encrypt_type="aes", msg_signature=_get_signature(self.token, q["timestamp"], q["nonce"], encrypt))
        if mode == "safe":
            body = f"<xml><ToUserName><![CDATA[{GH}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
        else:  # compatible: the plain fields and <Encrypt> side by side
            body = plain_xml.replace("</xml>", f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>")
        return q, body.encode()

    def post(self, query, body, url=None):
        return requests.post((url or self.base_url) + "/wechat", params=query, data=body, timeout=10)

    def open(self, response):
        """The reply as a dict (decrypted and signature-checked by wechatpy when encrypted), or 'success'."""
        text = response.text
        if text == "success":
            return "success"
        doc = xmltodict.parse(text)["xml"]
        if "Encrypt" in doc:
            text = self.crypto.decrypt_message(text, doc["MsgSignature"], doc["TimeStamp"], doc["Nonce"])
            doc = xmltodict.parse(text)["xml"]
        return doc


class SimulatedWeChat:
    """What WeChat's servers know about the readers of a `Server(simulator=True)`, through the
    simulator's control API (crates/simulator/src/control.rs). Tests that post callbacks
    themselves (wechatpy-signed) tell it what WeChat would have seen: a reader follows, a reader
    sent a message (which opens the 48-hour customer-service window, so the server may push);
    and read what reached a reader."""

    def __init__(self, server):
        self.control = server.url + "/sim/api/_control"

    def _post(self, what, **body):
        requests.post(f"{self.control}/{what}", json=body, timeout=5).raise_for_status()

    def follow(self, openid):
        """The reader follows the account (which opens the 1-minute event window)."""
        self._post("follow", openid=openid)
        self._post("interaction", openid=openid, kind="follow")

    def unfollow(self, openid):
        self._post("unfollow", openid=openid)

    def sent_message(self, openid):
        """The reader sent the account a message (which opens the 48-hour window)."""
        self._post("interaction", openid=openid, kind="message")

    def pushed_texts(self, openid):
        """The customer-service text messages the server pushed to the reader, in order."""
        inbox = requests.get(f"{self.control}/inbox", params={"openid": openid}, timeout=5).json()["messages"]
        return [m["body"]["text"]["content"] for m in inbox if m["kind"] == "custom" and m["body"].get("msgtype") == "text"]

    @staticmethod
    def web_session(openid):
        """A browser session of the reader's in-app browser: the simulator's authorisation page
        knows the reader by the `sim_openid` cookie, as the simulated phone sets it."""
        s = requests.Session()
        s.cookies.set("sim_openid", openid)
        return s


def message(msg_type, fields, openid="oReader0000000000000000000001", msg_id=None):
    """A WeChat message XML; msg_id None means a fresh random MsgId (events carry none)."""
    ts = int(time.time())
    parts = [f"<ToUserName><![CDATA[{GH}]]></ToUserName>", f"<FromUserName><![CDATA[{openid}]]></FromUserName>",
             f"<CreateTime>{ts}</CreateTime>", f"<MsgType><![CDATA[{msg_type}]]></MsgType>", fields]
    if msg_type != "event":
        parts.append(f"<MsgId>{msg_id or random.randint(10**17, 10**18)}</MsgId>")
    return "<xml>" + "".join(parts) + "</xml>"


@pytest.fixture
def server(tmp_path):
    s = Server(tmp_path)
    yield s
    s.stop()


@pytest.fixture
def wx(server):
    return WeChat(server.url)


def pg_server_url():
    url = os.environ.get("WXLIB_TEST_PG")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("CI is set but WXLIB_TEST_PG is not: PostgreSQL tests are mandatory in CI")
        pytest.skip("!!! PostgreSQL not configured (WXLIB_TEST_PG)")
    return url


def psql(server_url, db, sql):
    out = subprocess.run(["psql", f"{server_url}/{db}", "-tAc", sql], check=True, capture_output=True, text=True)
    return out.stdout.strip()


@pytest.fixture
def pg_database():
    url = pg_server_url()
    name = "wxlib_py_" + uuid.uuid4().hex[:12]
    psql(url, "postgres", f"CREATE DATABASE {name}")
    yield url, name
    subprocess.run(["psql", f"{url}/postgres", "-tAc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], capture_output=True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Records each phase's report on the test item, so that fixtures can tell whether the test
    failed (the browser tests then save a screenshot)."""
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)
