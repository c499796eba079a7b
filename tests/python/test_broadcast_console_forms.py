"""Every news-message form in the console refuses wrong input with a clear message and changes
nothing; a request without a session or without the CSRF token is refused. Real server, real
HTTP (requests), the simulator as WeChat."""
import re
import sqlite3
import subprocess

import pytest
import requests

from conftest import BIN, Server

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8ffff3f0005fe02fea73581840000000049454e44ae426082"
)


@pytest.fixture
def console(tmp_path):
    server = Server(tmp_path, extra_config="[simulator]\nenabled = true\n")
    out = subprocess.run([BIN, "create-admin", "--config", str(server.config), "--password-stdin", "admin1"], input="admin-pass-2026\n", capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    s = requests.Session()
    page = s.get(server.url + "/console/login", timeout=10).text
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
    r = s.post(server.url + "/console/login", data={"username": "admin1", "password": "admin-pass-2026", "csrf": csrf, "next": "/console", "lang": "zh"}, timeout=10)
    assert r.ok and "sign-out" in r.text, r.text
    yield server, s
    server.stop()


def csrf_of(s, url):
    return re.search(r'name="csrf" value="([0-9a-f]+)"', s.get(url, timeout=10).text).group(1)


def count(server):
    con = sqlite3.connect(server.dir / "data" / "wxlib.db")
    try:
        return con.execute("SELECT COUNT(*), COALESCE(MAX(state), '') FROM broadcasts").fetchone()
    finally:
        con.close()


def compose(s, url, csrf, **over):
    fields = {"csrf": csrf, "title": "讲座通知", "author": "馆员", "digest": "周五讲座", "body": "<p>欢迎参加</p>", "tag_id": ""}
    fields.update({k: v for k, v in over.items() if k != "cover"})
    files = {"cover": over.get("cover", ("cover.png", PNG, "image/png"))}
    if files["cover"] is None:
        files = {"cover": ("", b"", "application/octet-stream")}
    return s.post(url, data=fields, files=files, timeout=10, allow_redirects=False)


def test_wrong_input_is_refused_and_changes_nothing(console):
    server, s = console
    new = server.url + "/console/broadcasts/new"
    csrf = csrf_of(s, new)
    cases = [
        ({"title": ""}, "请填写标题"),
        ({"title": "题" * 33}, "32"),
        ({"digest": "字" * 129}, "128"),
        ({"body": "<script>alert(1)</script>"}, "请填写正文"),
        ({"tag_id": "abc"}, "标签编号"),
        ({"cover": None}, "封面"),
        ({"cover": ("c.gif", b"GIF89a....", "image/gif")}, "JPG 或 PNG"),
        ({"cover": ("big.png", PNG + b"\0" * (1 << 20), "image/png")}, "1 MB"),
    ]
    for over, message in cases:
        r = compose(s, new, csrf, **over)
        assert r.status_code == 400, (over, r.status_code)
        assert message in r.text, (over, r.text[-500:])
    assert count(server) == (0, "")

    # No CSRF token, or no session: refused, nothing stored.
    fields = {"title": "t", "body": "<p>b</p>"}
    r = s.post(new, data=fields, files={"cover": ("c.png", PNG, "image/png")}, timeout=10, allow_redirects=False)
    assert r.status_code == 403
    r = requests.post(new, data=dict(fields, csrf=csrf), files={"cover": ("c.png", PNG, "image/png")}, timeout=10, allow_redirects=False)
    assert r.status_code == 401
    assert requests.get(server.url + "/console/broadcasts", timeout=10, allow_redirects=False).status_code in (302, 303)
    assert count(server) == (0, "")

    # A good message, then wrong input in its other forms.
    r = compose(s, new, csrf)
    assert r.status_code in (302, 303), r.text
    detail = server.url + r.headers["location"].split("?")[0]
    assert count(server) == (1, "composed")
    r = s.post(detail + "/images", data={"csrf": csrf}, files={"image": ("x.gif", b"GIF89a", "image/gif")}, timeout=10)
    assert r.status_code == 400 and "JPG 或 PNG" in r.text
    r = s.post(detail + "/preview", data={"csrf": csrf, "openids": "not an <openid>"}, timeout=10)
    assert r.status_code == 400 and "openid" in r.text
    r = s.post(detail + "/send", data={"csrf": csrf}, timeout=10)
    assert r.status_code == 400 and "请勾选确认" in r.text
    r = s.post(detail + "/edit", data={"csrf": csrf, "title": "", "body": "<p>b</p>"}, files={"cover": ("", b"", "application/octet-stream")}, timeout=10)
    assert r.status_code == 400 and "请填写标题" in r.text
    assert s.get(server.url + "/console/broadcasts/999", timeout=10).status_code == 404
    assert count(server) == (1, "composed")
    page = s.get(detail, timeout=10).text
    assert "讲座通知" in page and "<script" not in page.split("<body>")[-1].split("</main>")[0]


def test_body_images_are_uploaded_and_used(console):
    server, s = console
    new = server.url + "/console/broadcasts/new"
    csrf = csrf_of(s, new)
    r = compose(s, new, csrf)
    detail = server.url + r.headers["location"].split("?")[0]
    r = s.post(detail + "/images", data={"csrf": csrf}, files={"image": ("photo.png", PNG, "image/png")}, timeout=10, allow_redirects=False)
    assert r.status_code in (302, 303)
    image_id = int(re.search(r"image=(\d+)", r.headers["location"]).group(1))
    assert f'&lt;img src=&quot;/news/img/{image_id}&quot;&gt;' in s.get(server.url + r.headers["location"], timeout=10).text
    body = f'<p>讲座海报</p><img src="/news/img/{image_id}" onerror="x()"><img src="https://elsewhere.example/a.png">'
    r = s.post(detail + "/edit", data={"csrf": csrf, "title": "讲座通知", "body": body}, files={"cover": ("", b"", "application/octet-stream")}, timeout=10, allow_redirects=False)
    assert r.status_code in (302, 303), r.text
    page = s.get(detail, timeout=10).text
    # The console previews the draft with its own copy of the image; a draft's image is not public.
    assert f'<img src="/console/broadcasts/img/{image_id}" alt="">' in page and "elsewhere.example" not in page and "onerror" not in page
    assert s.get(f"{server.url}/console/broadcasts/img/{image_id}", timeout=10).content == PNG
    assert requests.get(f"{server.url}/news/img/{image_id}", timeout=10).status_code == 404
