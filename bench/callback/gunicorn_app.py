"""The common alternative for bench/callback: Flask on wechatpy, safe mode, echo reply.

    gunicorn -w 2 -b 127.0.0.1:PORT --chdir bench/callback gunicorn_app:app

POST /wechat: check `signature`, verify `msg_signature` and decrypt with wechatpy's WeChatCrypto,
parse_message, reply create_reply(msg.content, msg), encrypted with encrypt_message. What a
typical wechatpy deployment does (wechatpy's examples/echo-encrypted), with no database.
"""
from flask import Flask, abort, request
from wechatpy import create_reply, parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.utils import check_signature

TOKEN = "libtoken"
AESKEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APPID = "wx1234567890abcdef"

app = Flask(__name__)
crypto = WeChatCrypto(TOKEN, AESKEY, APPID)


@app.route("/wechat", methods=["GET", "POST"])
def wechat():
    a = request.args
    signature, timestamp, nonce = a.get("signature", ""), a.get("timestamp", ""), a.get("nonce", "")
    try:
        check_signature(TOKEN, signature, timestamp, nonce)
    except InvalidSignatureException:
        abort(403)
    if request.method == "GET":
        return a.get("echostr", "")
    try:
        xml = crypto.decrypt_message(request.data, a.get("msg_signature", ""), timestamp, nonce)
    except (InvalidSignatureException, InvalidAppIdException):
        abort(403)
    msg = parse_message(xml)
    if msg.type == "text":
        reply = create_reply(msg.content, msg).render()
    else:
        reply = create_reply("", msg).render()
    return crypto.encrypt_message(reply, nonce, timestamp), 200, {"Content-Type": "application/xml"}


@app.route("/healthz")
def healthz():
    return "ok"
