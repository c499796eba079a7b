"""Several nodes behind nginx, under faults (issue 18 item 4).

nginx (Debian's package, run as the test user with a config in a temp dir) runs
deploy/nginx/wxlib.conf itself: the test substitutes the nodes' ports into its upstream and its
two listen lines and drops the ssl_ lines (the tests run plain http; the port-80 server block
still redirects everything but /wechat). Behind it, three `wxlib serve` nodes on one fresh
PostgreSQL database; WeChat's API is `wxlib simulator`, a process of its own, so what "WeChat"
delivered survives a node's death.

The test plays WeChat's servers for callbacks, retries included: a callback gets 5 s; one that
got no answer, a failed one or one that timed out is posted again, byte for byte (same MsgId,
timestamp and nonce), after those 5 s, up to 3 attempts — as WeChat does. Every message comes
from a reader of its own, so "answered once" is countable: the passive reply WeChat took, plus
the customer-service messages the simulator delivered to that reader, is exactly 1.

- a node hung (SIGSTOP) and then SIGKILLed under a mixed load (callbacks, OPAC searches, a
  console page), so that callbacks are in flight on it: every message answered once, every page
  200; then a catalog import done on one node is searchable on each
  surviving node (their indexes caught up);
- a node SIGKILLed in the middle of a mass send: a survivor takes it over within seconds and
  every follower gets it exactly once;
- a node SIGKILLed in the middle of the due-date reminder run, under a callback load: another
  node runs the job again within seconds of the dead node's claim running out, and every reader
  with a loan due gets their digest exactly once (WeChat's template messages as the simulator
  received them), none missed, none twice;
- behind nginx, with each node trusting nginx's address (`server.trusted_proxies`, as
  deploy/ configures it), a failed console sign-in is audited with the reader's own address
  (the connection nginx got), not nginx's and not one the client wrote into X-Forwarded-For;
- PostgreSQL's connections terminated under load (`pg_terminate_backend` on every session of
  the test's database): the nodes reconnect and every message is still answered once;
- PostgreSQL itself restarted under load — a private server of the machine's PostgreSQL
  binaries (`initdb` in a temp dir, as the `postgres` user when the tests run as root), stopped
  with `pg_ctl -m immediate` (a crash: no shutdown checkpoint) and started again 2 s later: the
  nodes keep their processes, every message is answered once (WeChat's retry lands after the
  restart), and afterwards every node serves pages and callbacks directly.
"""
import os
import pathlib
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import datetime
import time

import pytest
import requests

from conftest import APPID, BIN, MARC, ROOT, Server, WeChat, free_port, message, pg_server_url, psql

SITE = ROOT / "deploy" / "nginx" / "wxlib.conf"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8ffff3f0005fe02fea73581840000000049454e44ae426082"
)
QUERIES = ["明代政治制度", "中国历史", "经济", "文学", "hello"]


def render_site(nodes, http_port, https_port, tmp):
    """deploy/nginx/wxlib.conf with the test's ports: the upstream's servers, the listen lines,
    no TLS, logs in `tmp`."""
    text = SITE.read_text()
    servers = "".join(f"    server 127.0.0.1:{n.port} max_fails=1 fail_timeout=5s;\n" for n in nodes)
    text, n = re.subn(r"(upstream wxlib \{\n)(?:.*\n)*?(    keepalive)", lambda m: m.group(1) + servers + m.group(2), text)
    assert n == 1, "the upstream block of deploy/nginx/wxlib.conf"
    assert "listen 80;" in text and "listen 443 ssl;" in text
    text = text.replace("listen 80;", f"listen 127.0.0.1:{http_port};").replace("listen 443 ssl;", f"listen 127.0.0.1:{https_port};")
    text = "\n".join(l for l in text.splitlines() if not re.match(r"\s*(ssl_|http2 )", l))
    return text.replace("/var/log/nginx/", f"{tmp}/")


class Nginx:
    def __init__(self, tmp, nodes):
        self.dir = tmp / "nginx"
        self.dir.mkdir()
        self.http_port, self.https_port = free_port(), free_port()
        (self.dir / "wxlib.conf").write_text(render_site(nodes, self.http_port, self.https_port, self.dir))
        user = "user root;\n" if os.geteuid() == 0 else ""
        temps = "".join(f"{k}_temp_path {self.dir}/{k};\n" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        (self.dir / "nginx.conf").write_text(
            f"{user}worker_processes 1;\nerror_log {self.dir}/error.log;\nevents {{ worker_connections 1024; }}\n"
            f"http {{\naccess_log {self.dir}/access.log;\n{temps}include {self.dir}/wxlib.conf;\n}}\n"
        )
        self.proc = subprocess.Popen(["nginx", "-p", str(self.dir), "-c", str(self.dir / "nginx.conf"),
                                      "-g", f"daemon off; pid {self.dir}/nginx.pid;"], stderr=subprocess.PIPE)
        self.callback_url = f"http://127.0.0.1:{self.http_port}"
        self.url = f"http://127.0.0.1:{self.https_port}"
        for _ in range(100):
            try:
                requests.get(self.url + "/healthz", timeout=0.5)
                return
            except requests.ConnectionError:
                assert self.proc.poll() is None, self.proc.stderr.read().decode()
                time.sleep(0.05)
        raise RuntimeError("nginx did not start")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(5)


def start_simulator():
    port = free_port()
    proc = subprocess.Popen([BIN, "simulator", "--listen", f"127.0.0.1:{port}", "--app-id", APPID, "--app-secret", "secret"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/sim/api"
    for _ in range(200):
        try:
            if requests.get(base + "/_control/now", timeout=0.5).ok:
                return proc, base
        except requests.ConnectionError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("the simulator did not start")


def control(sim, path, body=None):
    return requests.post(f"{sim}/_control{path}", json=body or {}, timeout=5).json()


def inbox(sim, openid, kind):
    got = requests.get(f"{sim}/_control/inbox", params={"openid": openid}, timeout=5).json()["messages"]
    return [m for m in got if m["kind"] == kind]


class Cluster:
    def __init__(self, tmp, n=3, extra_config="", imports=(MARC / "lc-books2016-zh-4000.mrc",), pg_url=None):
        """`n` nodes with `extra_config` in each one's configuration; the first imports `imports`
        into the shared database before it starts. `pg_url`: the PostgreSQL server (the
        machine's, `WXLIB_TEST_PG`, by default)."""
        url = pg_url or pg_server_url()
        self.pg_url = url
        self.db = "wxlib_py_" + os.urandom(6).hex()
        psql(url, "postgres", f"CREATE DATABASE {self.db}")
        self.sim_proc, self.nodes, self.nginx = None, [], None
        try:
            self.sim_proc, self.sim = start_simulator()
            storage = f"{url}/{self.db}"
            # The first node imports the catalog into the shared database; the others' indexes sync from it.
            for i in range(n):
                # As deploy/nginx/wxlib.conf says each node's wxlib.toml has it.
                self.nodes.append(Server(tmp, storage_url=storage, api_base=self.sim, extra_config=extra_config,
                                         server_config='trusted_proxies = ["127.0.0.1/32"]',
                                         import_files=list(imports) if i == 0 else ()))
            self.nginx = Nginx(tmp, self.nodes)
        except BaseException:
            self.close()
            raise
        self.wechat = WeChat(self.nginx.callback_url)

    def sql(self, q):
        return psql(self.pg_url, self.db, q)

    def kill(self, node):
        node.proc.send_signal(signal.SIGKILL)
        node.proc.wait(5)
        node.log.close()

    def close(self):
        if self.nginx:
            self.nginx.stop()
        for n in self.nodes:
            if n.proc.poll() is None:
                n.stop()
        if self.sim_proc:
            self.sim_proc.kill()
            self.sim_proc.wait(5)
        subprocess.run(["psql", f"{self.pg_url}/postgres", "-tAc", f"DROP DATABASE IF EXISTS {self.db} WITH (FORCE)"], capture_output=True)


@pytest.fixture
def cluster(tmp_path):
    c = Cluster(tmp_path, extra_config="[broadcasts]\nbatch_size = 5\n")
    yield c
    c.close()


def deliver(wechat, xml):
    """Posts a callback as WeChat does: 5 s for an answer, else the same request again after
    those 5 s, at most 3 attempts. Returns (the reply WeChat took or None, attempts, seconds)."""
    q, body = wechat.seal(xml)
    started = time.monotonic()
    for attempt in range(1, 4):
        t0 = time.monotonic()
        try:
            r = requests.post(wechat.base_url + "/wechat", params=q, data=body, timeout=5)
            if r.status_code == 200:
                return wechat.open(r), attempt, time.monotonic() - started
        except requests.RequestException:
            pass
        time.sleep(max(0.0, 5 - (time.monotonic() - t0)))
    return None, 3, time.monotonic() - started


class Load:
    """Readers writing to the account (each message from a new reader), OPAC searches and a
    console page, all through nginx, until stopped."""

    def __init__(self, c, tag, callback_threads=8, page_threads=2):
        self.c, self.tag = c, tag
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.messages = []  # (openid, reply, attempts, seconds)
        self.pages = []  # status codes
        self.threads = [threading.Thread(target=self.callbacks, args=(i,)) for i in range(callback_threads)]
        self.threads += [threading.Thread(target=self.browse, args=(i,)) for i in range(page_threads)]
        for t in self.threads:
            t.start()

    def callbacks(self, i):
        k = 0
        while not self.stopping.is_set():
            openid = f"o{self.tag}{i:02d}x{k:04d}".ljust(28, "0")
            k += 1
            control(self.c.sim, "/follow", {"openid": openid})
            control(self.c.sim, "/interaction", {"openid": openid, "kind": "message"})
            xml = message("text", f"<Content><![CDATA[{QUERIES[k % len(QUERIES)]}]]></Content>", openid=openid)
            reply, attempts, secs = deliver(self.c.wechat, xml)
            with self.lock:
                self.messages.append((openid, reply, attempts, secs))

    def browse(self, i):
        k = 0
        while not self.stopping.is_set():
            k += 1
            path = "/console/login" if k % 5 == 0 else "/opac/search"
            try:
                r = requests.get(self.c.nginx.url + path, params={"q": QUERIES[k % len(QUERIES)]}, timeout=10)
                code = r.status_code
            except requests.RequestException as e:
                code = repr(e)
            with self.lock:
                self.pages.append(code)

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(30)


def answered_once(c, load, within=20):
    """Every message of `load` answered exactly once: the passive reply WeChat took, or one
    customer-service message (its answer by the outbox). Returns how many went each way."""
    deadline = time.time() + within
    pending = {}
    passive = 0
    for openid, reply, attempts, _ in load.messages:
        assert reply is not None, f"{openid}: no answer in {attempts} attempts"
        if reply != "success":
            passive += 1
            pending[openid] = 0
        else:
            pending[openid] = 1
    by_outbox = 0
    for openid, want in pending.items():
        while True:
            got = len(inbox(c.sim, openid, "custom"))
            if got >= want or time.time() > deadline:
                break
            time.sleep(0.2)
        assert got == want, f"{openid}: {got} customer-service messages, expected {want} (twice or missed)"
        by_outbox += got
    return passive, by_outbox


def test_a_node_killed_under_load_loses_no_message_and_the_indexes_catch_up(cluster, tmp_path):
    c = cluster
    load = Load(c, "K")
    time.sleep(2.5)
    # The node hangs first (SIGSTOP, 1.5 s), so that callbacks are surely in flight on it — claimed
    # and not answered — when it dies; then SIGKILL. nginx sends those to another node, which finds
    # the dead node's claims and takes them over once their 2 s lease has run out.
    victim = c.nodes[1]
    victim.proc.send_signal(signal.SIGSTOP)
    time.sleep(1.5)
    orphans = int(c.sql("SELECT COUNT(*) FROM callback_dedupe WHERE state = 'running'"))
    killed_at = time.monotonic()
    c.kill(victim)
    time.sleep(4)
    load.stop()
    passive, by_outbox = answered_once(c, load)
    slow = [m for m in load.messages if m[2] > 1 or m[3] > 1.5]
    print(f"{len(load.messages)} messages: {passive} answered in the callback, {by_outbox} by customer-service message; "
          f"{orphans} claims running when the node died, {len(slow)} messages waited for a takeover or WeChat's retry; "
          f"{len(load.pages)} pages")
    assert len(load.messages) > 20
    assert slow, "no message was in flight on the node that died"
    bad_pages = [p for p in load.pages if p != 200]
    assert not bad_pages, bad_pages
    # No claim left running: every callback the dead node held was taken over and finished.
    assert c.sql("SELECT COUNT(*) FROM callback_dedupe WHERE state = 'running'") == "0"
    assert time.monotonic() - killed_at < 60

    # An import on one node is searchable on every surviving node (each syncs its own index).
    out = subprocess.run([BIN, "import", "--config", str(c.nodes[0].config), str(MARC / "marc-record-camel-marc8.mrc")],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    for node in (c.nodes[0], c.nodes[2]):
        deadline = time.time() + 30
        while "Descartes" not in requests.get(node.url + "/opac/search", params={"q": "Perl DBI"}, timeout=10).text:
            assert time.time() < deadline, f"node {node.port}: the import is not searchable"
            time.sleep(0.5)


def test_a_node_killed_mid_mass_send_is_finished_by_a_survivor_within_seconds(cluster, tmp_path):
    c = cluster
    followers = [f"oMass{i:03d}".ljust(28, "0") for i in range(40)]
    for openid in followers:
        control(c.sim, "/follow", {"openid": openid})
    control(c.sim, "/fault", {"path": "/cgi-bin/message/mass/send", "delay_ms": 600, "times": 0})
    body, cover = tmp_path / "body.html", tmp_path / "cover.png"
    body.write_text("<p>期末考试周图书馆延长开放至 24:00。</p>", encoding="utf-8")
    cover.write_bytes(PNG)
    # Batches of 5 (every node's config): eight mass/send calls of 0.6 s each.
    out = subprocess.run([BIN, "broadcast", "--config", str(c.nodes[0].config), "--title", "考试周延长开放", "--digest", "开放时间",
                          "--body", str(body), "--cover", str(cover), "--send"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr

    def jobs():
        return [j for j in requests.get(f"{c.sim}/_control/mass", timeout=5).json()["jobs"] if j["via"] != "preview"]

    deadline = time.time() + 30
    while len(jobs()) < 2:
        assert time.time() < deadline
        time.sleep(0.05)
    sender = next(n for n in c.nodes if "broadcast batch sent" in n.logs())
    c.kill(sender)
    killed, taken = time.monotonic(), len(jobs())
    assert taken < 8, f"killed too late: {taken} of 8 batches"
    requests.delete(f"{c.sim}/_control/fault", timeout=5)
    while len(jobs()) == taken:
        assert time.monotonic() - killed < 20, "no survivor took the send over"
        time.sleep(0.05)
    takeover = time.monotonic() - killed
    while c.sql("SELECT state FROM broadcasts WHERE id = 1") != "sent":
        assert time.monotonic() - killed < 30
        time.sleep(0.1)
    finished = time.monotonic() - killed
    print(f"killed after {taken} of 8 batches; taken over after {takeover:.1f} s, sent {finished:.1f} s after the kill")
    assert takeover < 8, f"taken over only after {takeover:.1f} s"
    for openid in followers:
        assert len(inbox(c.sim, openid, "mass")) == 1, openid
    assert sorted(j["clientmsgid"] for j in jobs()) == sorted(f"wxlib-bc-1-{k}" for k in range(8))


def test_terminated_database_connections_under_load_are_survived(cluster):
    c = cluster
    load = Load(c, "T")
    time.sleep(2)
    for _ in range(3):
        c.sql(f"SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '{c.db}' AND pid <> pg_backend_pid()")
        time.sleep(1)
    time.sleep(3)
    load.stop()
    passive, by_outbox = answered_once(c, load)
    print(f"{len(load.messages)} messages ({passive} in the callback, {by_outbox} by customer-service message), {len(load.pages)} pages")
    # After the terminations every node answers again, directly.
    for node in c.nodes:
        assert requests.get(node.url + "/opac/search", params={"q": "经济"}, timeout=10).status_code == 200
        xml = message("text", "<Content><![CDATA[帮助]]></Content>", openid=f"oAfter{node.port}".ljust(28, "0"))
        reply, attempts, _ = deliver(WeChat(node.url), xml)
        assert reply not in (None, "success") and attempts == 1, (node.port, reply, attempts)


def test_a_node_killed_mid_reminder_run_leaves_no_reader_missed_or_told_twice(cluster, tmp_path):
    c = cluster
    n = 60
    # Readers of the built-in library system, each with a book due tomorrow, bound and following.
    ids = c.sql(f"SELECT id FROM catalog_records ORDER BY id LIMIT {n}").split()
    today = datetime.date.today()
    readers, items, loans = tmp_path / "readers.csv", tmp_path / "items.csv", tmp_path / "loans.csv"
    readers.write_text("card,name,password\n" + "".join(f"R{i:04d},读者{i},pw{i}\n" for i in range(n)))
    items.write_text("barcode,record_id\n" + "".join(f"B{i:04d},{rid}\n" for i, rid in enumerate(ids)))
    loans.write_text("card,barcode,loaned_on,due_on\n" + "".join(
        f"R{i:04d},B{i:04d},{today - datetime.timedelta(days=29)},{today + datetime.timedelta(days=1)}\n" for i in range(n)))
    for what, path in (("readers", readers), ("items", items), ("loans", loans)):
        out = subprocess.run([BIN, "load", "--config", str(c.nodes[0].config), what, str(path)], capture_output=True, text=True, timeout=300)
        assert out.returncode == 0 and "errors 0" in out.stdout, out.stdout + out.stderr
    openids = [f"oDue{i:04d}".ljust(28, "0") for i in range(n)]
    for i, openid in enumerate(openids):
        control(c.sim, "/follow", {"openid": openid})
    c.sql("INSERT INTO bindings (openid, card, bound_at) VALUES " + ",".join(f"('{o}', 'R{i:04d}', 0)" for i, o in enumerate(openids)))
    # WeChat takes 0.3 s a template message, so the run is surely under way when its node dies.
    control(c.sim, "/fault", {"path": "/cgi-bin/message/template/send", "delay_ms": 300, "times": 0})
    load = Load(c, "R", callback_threads=4, page_threads=1)
    # The daily job is due now; whichever node's tick comes first runs it.
    c.sql("UPDATE jobs SET next_run_at = 0 WHERE name = 'due_reminders'")

    def templates():
        return sum(len(inbox(c.sim, o, "template")) for o in openids)

    deadline = time.time() + 30
    runner = None
    while runner is None:
        assert time.time() < deadline, "no node started the reminder run"
        runner = next((node for node in c.nodes if re.search(r"job started on this node.*due_reminders", node.logs())), None)
        time.sleep(0.05)
    while int(c.sql("SELECT COUNT(*) FROM outbox WHERE dedupe_key LIKE 'due-%'")) == 0:
        assert time.time() < deadline, "the run queued nothing"
        time.sleep(0.02)
    c.kill(runner)
    killed = time.monotonic()
    queued_at_kill = int(c.sql("SELECT COUNT(*) FROM outbox WHERE dedupe_key LIKE 'due-%'"))
    delivered_at_kill = templates()
    requests.delete(f"{c.sim}/_control/fault", timeout=5)
    # The survivors finish the run (the job's next run moves to tomorrow) and deliver every digest.
    while c.sql("SELECT next_run_at > 0 FROM jobs WHERE name = 'due_reminders'") not in ("t", "true"):
        assert time.monotonic() - killed < 40, "no survivor finished the reminder run"
        time.sleep(0.2)
    finished = time.monotonic() - killed
    while templates() < n:
        assert time.monotonic() - killed < 90, f"{templates()} of {n} digests delivered"
        time.sleep(0.5)
    load.stop()
    print(f"killed with {queued_at_kill} of {n} digests queued and {delivered_at_kill} delivered; "
          f"the run finished {finished:.1f} s after the kill, all delivered {time.monotonic() - killed:.1f} s after it")
    assert delivered_at_kill < n, "killed too late: every digest was already delivered"
    for openid in openids:
        got = inbox(c.sim, openid, "template")
        assert len(got) == 1, f"{openid}: {len(got)} digests"
    assert c.sql("SELECT COUNT(*) FROM outbox WHERE dedupe_key LIKE 'due-%' AND status = 'sent'") == str(n)
    answered_once(c, load)


class FromAddress(requests.adapters.HTTPAdapter):
    """Connections from a local address of our choosing (127.0.0.0/8 is all this machine's)."""

    def __init__(self, address):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def test_behind_nginx_the_audit_log_names_the_readers_address_not_a_forged_one(cluster):
    c = cluster
    s = requests.Session()
    s.mount("http://", FromAddress("127.0.0.5"))
    page = s.get(c.nginx.url + "/console/login", timeout=10)
    assert page.status_code == 200, page.text
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text).group(1)
    r = s.post(c.nginx.url + "/console/login", data={"username": "nobody", "password": "wrong", "csrf": csrf, "next": "/console"},
               headers={"X-Forwarded-For": "198.51.100.7"}, timeout=10)
    assert r.status_code in (200, 401, 403), r.text
    audited = c.sql("SELECT detail FROM audit_log WHERE action = 'console.sign_in_failed'")
    assert audited == "user name nobody from 127.0.0.5", audited


class PrivatePostgres:
    """A PostgreSQL server of our own, from the machine's binaries, that the test may crash and
    restart (the machine's shared server is not ours to restart)."""

    def __init__(self):
        bins = sorted(pathlib.Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
        if not bins:
            if os.environ.get("CI"):
                pytest.fail("CI: the PostgreSQL server binaries (initdb, pg_ctl) are required")
            pytest.skip("!!! no PostgreSQL server binaries: the restart test is skipped")
        self.bin = bins[-1].parent
        # Not under pytest's temp dir, which only its owner may enter.
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="wxlib-pg-"))
        self.port = free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}"
        # initdb refuses to run as root: then the cluster belongs to the postgres user.
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            subprocess.run(["chown", "postgres", str(self.dir)], check=True)
        self.data = self.dir / "data"
        self.run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        self.start()

    def run(self, tool, *args):
        out = subprocess.run([*self.as_user, str(self.bin / tool), *args], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, f"{tool}: {out.stdout}{out.stderr}"

    def start(self):
        self.run("pg_ctl", "-D", str(self.data), "-w", "-l", str(self.dir / "log"), "-o",
                 f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off", "start")

    def crash(self):
        self.run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop")

    def stop(self):
        subprocess.run([*self.as_user, str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)


def test_postgresql_crashed_and_restarted_under_load_is_survived(tmp_path):
    pg = PrivatePostgres()
    try:
        c = Cluster(tmp_path, n=2, pg_url=pg.url)
        try:
            load = Load(c, "P", callback_threads=6, page_threads=2)
            time.sleep(2)
            before = len(load.messages)
            pg.crash()
            time.sleep(2)
            pg.start()
            restarted = time.monotonic()
            # The load goes on after the restart until messages are answered again directly.
            deadline = time.time() + 30
            while not any(m[2] == 1 and m[3] < 2 for m in load.messages[before + 10:]):
                assert time.time() < deadline, "no message answered directly after the restart"
                time.sleep(0.2)
            load.stop()
            passive, by_outbox = answered_once(c, load, within=40)
            retried = [m for m in load.messages if m[2] > 1]
            print(f"{len(load.messages)} messages ({passive} in the callback, {by_outbox} by customer-service message, "
                  f"{len(retried)} answered on WeChat's retry), {len(load.pages)} pages; answering directly again "
                  f"{time.monotonic() - restarted:.1f} s after the restart")
            assert len(load.messages) > before, "the load ran across the restart"
            for node in c.nodes:
                assert node.proc.poll() is None, "a node exited when PostgreSQL went away"
                assert requests.get(node.url + "/opac/search", params={"q": "经济"}, timeout=10).status_code == 200
                assert requests.get(node.url + "/readyz", timeout=10).status_code == 200
                xml = message("text", "<Content><![CDATA[帮助]]></Content>", openid=f"oAfterPg{node.port}".ljust(28, "0"))
                reply, attempts, _ = deliver(WeChat(node.url), xml)
                assert reply not in (None, "success") and attempts == 1, (node.port, reply, attempts)
        finally:
            c.close()
    finally:
        pg.stop()
