#!/usr/bin/env python3
"""Generates distinct safe-mode text callbacks exactly as WeChat sends them (wechatpy's PrpCrypto,
reference §2 and the §6 peer-check script), for bench/callback/replay.lua.

Output: one line per message, `/wechat?<query>\t<body>` (the body is the one-line safe-mode
envelope, so it holds no tab or newline). Every message has its own MsgId, nonce and random
prefix; senders cycle through --readers openids; timestamps are now, so generate right before a run
(wxlib refuses timestamps more than 300 s off by default).

    gen_messages.py --count 200000 --out msgs.txt [--readers 500] [--jobs 2] [--msgid-base N] [--text help]
    gen_messages.py --one            # prints one message as JSON (query, body, openid, content)
"""
import argparse
import base64
import hashlib
import json
import multiprocessing
import os
import sys
import time
from urllib.parse import urlencode

from wechatpy.crypto import PrpCrypto, _get_signature

TOKEN = "libtoken"
AESKEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APPID = "wx1234567890abcdef"
GH = "gh_0123456789ab"
KEY = base64.b64decode(AESKEY + "=")

# What readers type: titles, authors, keywords (wxlib's catch-all answers every one of them).
TEXTS = ["三体", "借阅 三体", "刘慈欣", "百年孤独", "Python 编程", "数据结构与算法", "活着 余华", "开放时间",
         "人类简史", "红楼梦", "machine learning", "线性代数", "明朝那些事儿", "平凡的世界", "经济学原理", "围城"]


# Words that find records in the catalog bench/callback imports for wxlib-catalog (the 4,000
# Chinese LC records of tests/data/marc): from a few dozen hits to over a thousand.
CATALOG_TEXTS = ["中国", "经济", "香港", "文化", "社会", "法律", "科学", "历史", "地方志", "上海", "文学", "艺术",
                 "中国共产党", "世纪", "教育", "台湾"]


def openid(reader):
    # 28 characters like real OpenIDs: o + 27.
    return "oLIB" + hashlib.sha1(str(reader).encode()).hexdigest()[:24]


def sha1_sorted(*parts):
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def make(i, readers, msgid_base, ts, text="titles"):
    """The i-th message: (query dict, body str, openid, content). text="titles": a title, author
    or keyword plus a number (wxlib searches the catalog); text="help": "帮助" (wxlib's help text);
    text="catalog": a word with hits in the bench's catalog."""
    sender = openid(i % readers)
    if text == "help":
        content = "帮助"
    elif text == "catalog":
        content = CATALOG_TEXTS[i % len(CATALOG_TEXTS)]
    else:
        content = f"{TEXTS[i % len(TEXTS)]} {i}"
    msgid = msgid_base + i
    plain = (f"<xml><ToUserName><![CDATA[{GH}]]></ToUserName><FromUserName><![CDATA[{sender}]]></FromUserName>"
             f"<CreateTime>{ts}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
             f"<Content><![CDATA[{content}]]></Content><MsgId>{msgid}</MsgId></xml>")
    nonce = str(int.from_bytes(os.urandom(4), "big") % 2_000_000_000 + 1)
    encrypt = PrpCrypto(KEY).encrypt(plain, APPID).decode()
    query = dict(signature=sha1_sorted(TOKEN, ts, nonce), timestamp=ts, nonce=nonce, openid=sender,
                 encrypt_type="aes", msg_signature=_get_signature(TOKEN, ts, nonce, encrypt))
    body = f"<xml><ToUserName><![CDATA[{GH}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    return query, body, sender, content


def chunk(args):
    start, stop, readers, msgid_base, ts, text = args
    out = []
    for i in range(start, stop):
        q, body, _, _ = make(i, readers, msgid_base, ts, text)
        out.append(f"/wechat?{urlencode(q)}\t{body}\n")
    return "".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=5000)
    ap.add_argument("--readers", type=int, default=500)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--msgid-base", type=int, default=None, help="first MsgId (default: from the clock, so runs never collide)")
    ap.add_argument("--out", default="-")
    ap.add_argument("--text", choices=["titles", "help", "catalog"], default="titles",
                    help="message content: book titles/authors/keywords with a number (default; no hits), "
                         "帮助 (help), or words with hits in the bench's catalog (catalog)")
    ap.add_argument("--one", action="store_true", help="print one message as JSON (for the correctness check)")
    a = ap.parse_args()
    ts = str(int(time.time()))
    base = a.msgid_base if a.msgid_base is not None else 24_000_000_000_000_000 + time.time_ns() // 1000 * 1000
    if a.one:
        q, body, sender, content = make(0, 1, base, ts, a.text)
        json.dump(dict(query=q, body=body, openid=sender, content=content), sys.stdout, ensure_ascii=False)
        print()
        return
    step = 2000
    parts = [(s, min(s + step, a.count), a.readers, base, ts, a.text) for s in range(0, a.count, step)]
    started = time.time()
    out = sys.stdout if a.out == "-" else open(a.out, "w", encoding="utf-8")
    with multiprocessing.Pool(max(1, a.jobs)) as pool:
        for text in pool.imap(chunk, parts):
            out.write(text)
    if out is not sys.stdout:
        out.close()
    print(f"gen_messages: {a.count} {a.text} messages from {min(a.readers, a.count)} readers in {time.time() - started:.1f} s",
          file=sys.stderr)


if __name__ == "__main__":
    main()
