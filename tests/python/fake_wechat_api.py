"""A local stand-in for WeChat's API servers, for tests that need web authorisation and pushes:
stable_token, custom/send, template/send, /sns/oauth2/access_token and the authorize page. It
follows the documented shapes (reference wechat.md §5) and records every call."""
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeWeChatApi:
    def __init__(self):
        self.calls = []
        self.codes = {}  # code -> openid
        self.next_openid = None
        self.token = "tok1"
        self.lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def reply(self, obj, status=200, headers=None):
                body = json.dumps(obj, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                url = urllib.parse.urlparse(self.path)
                q = dict(urllib.parse.parse_qsl(url.query))
                if url.path == "/connect/oauth2/authorize":
                    with api.lock:
                        code = f"code{len(api.codes) + 1}"
                        api.codes[code] = api.next_openid
                    target = q["redirect_uri"] + ("&" if "?" in q["redirect_uri"] else "?") + urllib.parse.urlencode({"code": code, "state": q.get("state", "")})
                    self.send_response(302)
                    self.send_header("Location", target)
                    self.end_headers()
                    return
                if url.path == "/sns/oauth2/access_token":
                    with api.lock:
                        api.calls.append(("oauth", q))
                        openid = api.codes.pop(q.get("code"), None)
                    if openid is None:
                        return self.reply({"errcode": 40029, "errmsg": "invalid code"})
                    return self.reply({"access_token": "web", "expires_in": 7200, "refresh_token": "r", "openid": openid, "scope": "snsapi_base"})
                self.reply({"errcode": 404, "errmsg": "not found"}, 404)

            def do_POST(self):
                url = urllib.parse.urlparse(self.path)
                q = dict(urllib.parse.parse_qsl(url.query))
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                if url.path == "/cgi-bin/stable_token":
                    return self.reply({"access_token": api.token, "expires_in": 7200})
                if q.get("access_token") != api.token:
                    return self.reply({"errcode": 40001, "errmsg": "invalid credential"})
                with api.lock:
                    api.calls.append((url.path, body))
                if url.path == "/cgi-bin/message/template/send":
                    return self.reply({"errcode": 0, "errmsg": "ok", "msgid": len(api.calls)})
                self.reply({"errcode": 0, "errmsg": "ok"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def pushes(self, path):
        with self.lock:
            return [b for p, b in self.calls if p == path]

    def close(self):
        self.server.shutdown()
