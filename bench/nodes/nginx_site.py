#!/usr/bin/env python3
"""Renders deploy/nginx/wxlib.conf for a local run, as tests/python/test_nodes.py does: the
upstream's servers are the given node ports, the two listen lines local ports, no TLS lines, logs
in DIR; and writes DIR/nginx.conf around it.

    nginx_site.py DIR HTTP_PORT HTTPS_PORT NODE_PORT...
"""
import os
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
out, http_port, https_port, *nodes = sys.argv[1:]
out = pathlib.Path(out)
text = (ROOT / "deploy" / "nginx" / "wxlib.conf").read_text()
servers = "".join(f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;\n" for p in nodes)
text, n = re.subn(r"(upstream wxlib \{\n)(?:.*\n)*?(    keepalive)", lambda m: m.group(1) + servers + m.group(2), text)
assert n == 1, "no upstream block in deploy/nginx/wxlib.conf"
text = text.replace("listen 80;", f"listen 127.0.0.1:{http_port} backlog=4096;").replace("listen 443 ssl;", f"listen 127.0.0.1:{https_port};")
text = "\n".join(l for l in text.splitlines() if not re.match(r"\s*(ssl_|http2 )", l)).replace("/var/log/nginx/", f"{out}/")
(out / "wxlib.conf").write_text(text)
user = "user root;\n" if os.geteuid() == 0 else ""
temps = "".join(f"{k}_temp_path {out}/{k};\n" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
(out / "nginx.conf").write_text(
    f"{user}worker_processes 1;\nerror_log {out}/error.log;\nevents {{ worker_connections 4096; }}\n"
    f"http {{\naccess_log off;\n{temps}include {out}/wxlib.conf;\n}}\n"
)
