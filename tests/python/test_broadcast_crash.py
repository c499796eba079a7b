"""A mass news message survives wxlib being killed in the middle of the send.

WeChat is the simulator running as a process of its own (`wxlib simulator`), so killing wxlib
does not lose what "WeChat" already delivered. wxlib sends to 40 followers in batches of 5
(8 `mass/send` calls, each slowed down by the simulator), is killed with SIGKILL once WeChat has
taken two batches, and is started again on the same database. Every follower must get the
message exactly once, followers who arrive after the send must not get it, and the read rate
divides by the 40 followers at send time.
"""
import signal
import sqlite3
import subprocess
import time

import pytest
import requests

from conftest import APPID, BIN, Server, free_port

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8ffff3f0005fe02fea73581840000000049454e44ae426082"
)
FOLLOWERS = [f"oCrashReader{i:03d}" for i in range(40)]


@pytest.fixture
def wechat_process():
    port = free_port()
    proc = subprocess.Popen(
        [BIN, "simulator", "--listen", f"127.0.0.1:{port}", "--app-id", APPID, "--app-secret", "secret"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/sim/api"
    for _ in range(200):
        try:
            if requests.get(base + "/_control/now", timeout=0.5).ok:
                break
        except requests.ConnectionError:
            time.sleep(0.05)
    else:
        proc.kill()
        raise RuntimeError("the simulator did not start")
    yield base
    proc.kill()
    proc.wait(5)


def control(base, path, body=None):
    return requests.post(f"{base}/_control{path}", json=body or {}, timeout=5).json()


def mass_jobs(base):
    return [j for j in requests.get(f"{base}/_control/mass", timeout=5).json()["jobs"] if j["via"] != "preview"]


def mass_received(base, openid):
    inbox = requests.get(f"{base}/_control/inbox", params={"openid": openid}, timeout=5).json()
    return [m for m in inbox["messages"] if m["kind"] == "mass"]


def db_row(server, sql):
    con = sqlite3.connect(server.dir / "data" / "wxlib.db")
    try:
        return con.execute(sql).fetchone()
    finally:
        con.close()


def start_again(server):
    """The same server (config, database) in a new process."""
    server.log = open(server.log_path, "a")
    server.proc = subprocess.Popen([BIN, "serve", "--config", str(server.config)], stdout=server.log, stderr=subprocess.STDOUT)
    for _ in range(200):
        try:
            if requests.get(server.url + "/healthz", timeout=0.5).ok:
                return
        except requests.ConnectionError:
            time.sleep(0.05)
    raise RuntimeError("wxlib did not start again")


def test_a_send_killed_midway_resumes_and_nobody_gets_it_twice(tmp_path, wechat_process):
    wechat = wechat_process
    for openid in FOLLOWERS:
        control(wechat, "/follow", {"openid": openid})
    server = Server(tmp_path, api_base=wechat, extra_config="[broadcasts]\nbatch_size = 5\n")
    try:
        # Every mass/send takes 0.6 s at "WeChat", so the kill lands between batches.
        control(wechat, "/fault", {"path": "/cgi-bin/message/mass/send", "delay_ms": 600, "times": 0})
        body = tmp_path / "body.html"
        body.write_text("<p>期末考试周图书馆延长开放至 24:00。</p><script>alert(1)</script>", encoding="utf-8")
        cover = tmp_path / "cover.png"
        cover.write_bytes(PNG)
        out = subprocess.run(
            [BIN, "broadcast", "--config", str(server.config), "--title", "考试周延长开放", "--digest", "开放时间调整",
             "--body", str(body), "--cover", str(cover), "--send"],
            capture_output=True, text=True, timeout=60,
        )
        assert out.returncode == 0, out.stderr
        assert "queued" in out.stdout

        deadline = time.time() + 30
        while len(mass_jobs(wechat)) < 2:
            assert time.time() < deadline, server.logs()
            time.sleep(0.05)
        server.proc.send_signal(signal.SIGKILL)
        server.proc.wait(5)
        server.log.close()
        taken = len(mass_jobs(wechat))
        assert 2 <= taken < 8, f"killed in the middle: {taken} of 8 batches taken"
        print(f"killed after {taken} of 8 batches")
        state, frozen = db_row(server, "SELECT state, followers_at_send FROM broadcasts")
        assert state == "sending" and frozen == 40

        # Followers who come after the send started are not recipients, and do not count.
        for openid in ("oLate1", "oLate2", "oLate3"):
            control(wechat, "/follow", {"openid": openid})
        requests.delete(f"{wechat}/_control/fault", timeout=5)

        start_again(server)
        deadline = time.time() + 60
        while db_row(server, "SELECT state FROM broadcasts")[0] != "sent":
            assert time.time() < deadline, server.logs()
            time.sleep(0.1)

        for openid in FOLLOWERS:
            got = mass_received(wechat, openid)
            assert len(got) == 1, f"{openid} received {len(got)} copies"
            assert got[0]["body"]["mpnews"]["articles"][0]["title"] == "考试周延长开放"
            assert "<script" not in got[0]["body"]["mpnews"]["articles"][0]["content"]
        for openid in ("oLate1", "oLate2", "oLate3"):
            assert mass_received(wechat, openid) == []
        cids = sorted(j["clientmsgid"] for j in mass_jobs(wechat))
        assert cids == sorted(f"wxlib-bc-1-{k}" for k in range(8)), cids

        # Two readers open the article in WeChat (web authorisation), one of them twice.
        ua = {"User-Agent": "Mozilla/5.0 (iPhone) MicroMessenger/8.0.50"}
        for openid in ("oCrashReader001", "oCrashReader002", "oCrashReader001"):
            s = requests.Session()
            s.cookies.set("sim_openid", openid)
            page = s.get(f"{server.url}/news/1", headers=ua, timeout=10)
            assert page.status_code == 200 and "考试周延长开放" in page.text
        readers, frozen = db_row(server, "SELECT (SELECT COUNT(*) FROM broadcast_reads WHERE broadcast_id = 1), followers_at_send FROM broadcasts WHERE id = 1")
        assert (readers, frozen) == (2, 40), "read rate = 2 readers / 40 followers at send time (not 43)"
    finally:
        if server.proc.poll() is None:
            server.stop()
