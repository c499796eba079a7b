"""What the browser tests share: a real `wxlib serve` with the simulator on (and its first admin
made by `wxlib create-admin`), headless Chromium over WebDriver, a screenshot when a test failed
(`conftest.py` records each test's outcome), and polling for a page that updates by itself."""
import contextlib
import os
import shutil
import subprocess
import time

import pytest
import requests

from conftest import AESKEY, APPID, BIN, TOKEN, free_port

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def require_chromium():
    """Browser tests need Chromium and its driver: mandatory in CI, skipped loudly elsewhere."""
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        if os.environ.get("CI"):
            pytest.fail("chromium and chromium-driver are required in CI (scripts/test installs them)")
        pytest.skip("!!! chromium / chromedriver not installed: browser tests skipped")


@contextlib.contextmanager
def wxlib_site(tmp, admin, password, extra_config="", push_menu=False):
    """Runs `wxlib serve` with the simulator as WeChat in `tmp`, with `admin` as the first console
    admin; yields the base URL and stops the server afterwards."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config = tmp / "wxlib.toml"
    config.write_text(f"""
[server]
listen = "127.0.0.1:{port}"
data_dir = "{tmp / 'data'}"
public_url = "{base}"
[wechat]
app_id = "{APPID}"
app_secret = "secret"
token = "{TOKEN}"
encoding_aes_key = "{AESKEY}"
api_base = "{base}/sim/api"
oauth_base = "{base}/sim/api"
[simulator]
enabled = true
[activities]
showqrcode_url = "{base}/sim/api/cgi-bin/showqrcode"
{extra_config}
""")
    out = subprocess.run([BIN, "create-admin", "--config", str(config), "--password-stdin", admin], input=password + "\n", capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    with open(tmp / "server.log", "w") as log:
        proc = subprocess.Popen([BIN, "serve", "--config", str(config)], stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, RUST_LOG="info"))
        try:
            for _ in range(300):
                if proc.poll() is not None:
                    raise RuntimeError((tmp / "server.log").read_text())
                try:
                    if requests.get(base + "/healthz", timeout=0.5).ok:
                        break
                except requests.ConnectionError:
                    pass
                time.sleep(0.1)
            else:
                raise RuntimeError("wxlib did not start")
            if push_menu:
                out = subprocess.run([BIN, "push-menu", "--config", str(config)], capture_output=True, text=True, timeout=60)
                assert out.returncode == 0, out.stdout + out.stderr
            yield base
        finally:
            proc.terminate()
            proc.wait(10)


def chrome(tmp, name, window="1100,1200"):
    """A headless Chromium with its own profile under `tmp`."""
    require_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", f"--window-size={window}", "--lang=zh-CN"]:
        opts.add_argument(flag)
    opts.add_argument(f"--user-data-dir={tmp / ('chrome-' + name)}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.implicitly_wait(0)
    return driver


def close(driver, request, tmp, label=None):
    """Quits the browser, first saving a screenshot if the test failed."""
    name = request.node.name if label is None else f"{request.node.name}-{label}"
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        path = tmp / f"failure-{name}.png"
        driver.get_screenshot_as_file(str(path))
        print(f"screenshot of the failure: {path}")
    driver.quit()


def wait_for(predicate, what, timeout=15):
    """Polls `predicate` until it returns something true (a page that updates by itself)."""
    end = time.time() + timeout
    while time.time() < end:
        try:
            value = predicate()
            if value:
                return value
        except Exception:  # the page is mid-update
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")
