#!/usr/bin/env python3
"""Writes the committed seed corpora under fuzz/seeds/<target>/.

Run from anywhere: `python3 fuzz/seeds/gen_seeds.py` (needs the `cryptography` package to build
ciphertexts for the fuzz app id; the published vectors are copied from crates/wechat/src/crypto.rs).
"""
import base64
import hashlib
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

HERE = os.path.dirname(os.path.abspath(__file__))
K = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APP_ID = "wx1234567890abcdef"
APP_IDS = [APP_ID, "wxb11529c136998cb6", "wx2c2769f8efd9abc2", ""]


def key_bytes(k):
    return base64.b64decode(k + "=")


def encrypt(msg: bytes, app_id: str, random: bytes, k=K) -> str:
    key = key_bytes(k)
    body = random + struct.pack(">I", len(msg)) + msg + app_id.encode()
    pad = 32 - len(body) % 32
    body += bytes([pad]) * pad
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(enc.update(body) + enc.finalize()).decode()


# crypto.rs vector_a: the implementation above must reproduce it.
assert encrypt("我是中文abcd123".encode(), "wxb11529c136998cb6", b"aaaabbbbccccdddd") == (
    "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg=="
)


def wrap(inner):
    return (
        "<xml><ToUserName><![CDATA[gh_x]]></ToUserName><FromUserName><![CDATA[oUser]]></FromUserName>"
        f"<CreateTime>1700000000</CreateTime>{inner}</xml>"
    )


PICS = "<SendPicsInfo><Count>2</Count><PicList><item><PicMd5Sum>a</PicMd5Sum></item><item><PicMd5Sum>b</PicMd5Sum></item></PicList></SendPicsInfo>"
MESSAGES = [
    wrap("<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[三体]]></Content><MsgId>1234567890123456789</MsgId>"),
    wrap("<MsgType>image</MsgType><PicUrl>http://p</PicUrl><MediaId>m</MediaId><MsgId>1</MsgId>"),
    wrap("<MsgType>voice</MsgType><MediaId>m</MediaId><Format>amr</Format><Recognition>你好</Recognition><MediaId16K>k</MediaId16K><MsgId>1</MsgId>"),
    wrap("<MsgType>video</MsgType><MediaId>m</MediaId><ThumbMediaId>t</ThumbMediaId><MsgId>1</MsgId>"),
    wrap("<MsgType>shortvideo</MsgType><MediaId>m</MediaId><ThumbMediaId>t</ThumbMediaId><MsgId>1</MsgId>"),
    wrap("<MsgType>location</MsgType><Location_X>23.134521</Location_X><Location_Y>113.358803</Location_Y><Scale>20</Scale><Label>位置</Label><MsgId>1</MsgId>"),
    wrap("<MsgType>link</MsgType><Title>t</Title><Description>d</Description><Url>u</Url><MsgId>1</MsgId>"),
    wrap("<MsgType>miniprogrampage</MsgType><MsgId>1</MsgId>"),
    wrap("<MsgType>event</MsgType><Event>subscribe</Event><EventKey>qrscene_123</EventKey><Ticket>T</Ticket>"),
    wrap("<MsgType>event</MsgType><Event>unsubscribe</Event>"),
    wrap("<MsgType>event</MsgType><Event>SCAN</Event><EventKey>42</EventKey><Ticket>T</Ticket>"),
    wrap("<MsgType>event</MsgType><Event>LOCATION</Event><Latitude>23.1</Latitude><Longitude>113.3</Longitude><Precision>119.3</Precision>"),
    wrap("<MsgType>event</MsgType><Event>CLICK</Event><EventKey>SEARCH_TITLE</EventKey>"),
    wrap("<MsgType>event</MsgType><Event>VIEW</Event><EventKey>http://x</EventKey><MenuId>7</MenuId>"),
    wrap("<MsgType>event</MsgType><Event>scancode_waitmsg</Event><EventKey>k</EventKey><ScanCodeInfo><ScanType>barcode</ScanType><ScanResult>9787</ScanResult></ScanCodeInfo>"),
    wrap(f"<MsgType>event</MsgType><Event>pic_sysphoto</Event><EventKey>k</EventKey>{PICS}"),
    wrap("<MsgType>event</MsgType><Event>location_select</Event><EventKey>k</EventKey><SendLocationInfo><Location_X>23</Location_X><Location_Y>113</Location_Y><Scale>15</Scale><Label>L</Label><Poiname>P</Poiname></SendLocationInfo>"),
    wrap("<MsgType>event</MsgType><Event>view_miniprogram</Event><EventKey>pages/index</EventKey><MenuId>1</MenuId>"),
    wrap("<MsgType>event</MsgType><Event>TEMPLATESENDJOBFINISH</Event><MsgID>200163836</MsgID><Status>success</Status>"),
    wrap("<MsgType>event</MsgType><Event>MASSSENDJOBFINISH</Event><MsgID>1988</MsgID><Status>send success</Status><TotalCount>100</TotalCount><FilterCount>80</FilterCount><SentCount>75</SentCount><ErrorCount>5</ErrorCount>"),
    wrap("<MsgType>event</MsgType><Event>PUBLISHJOBFINISH</Event><PublishEventInfo><publish_id>2247503051</publish_id><publish_status>0</publish_status><article_id>b5O2</article_id></PublishEventInfo>"),
    wrap("<MsgType>event</MsgType><Event>debug_demo</Event>"),
    # crypto.rs vector_c's inner XML (newlines between fields)
    "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>\n<FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></FromUserName>\n<CreateTime>1409735668</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[abcdteT]]></Content>\n<MsgId>6054768590064713728</MsgId>\n</xml>",
]
XML_EXTRA = [
    '<?xml version="1.0" encoding="UTF-8"?><xml><ToUserName><![CDATA[gh_x]]></ToUserName><Encrypt><![CDATA[abc=]]></Encrypt></xml>',
    "<xml><A><![CDATA[x]]]]><![CDATA[>y]]></A><B>1 &amp; 2 &#x4E2D;&#20013;</B><C><D>d</D></C><E/><!-- c --><?pi x?></xml>",
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><xml><A>&lol;</A></xml>',
    "<a>" * 20 + "</a>" * 20,
    '<xml a="1" b=\'2\'><x:y xmlns:x="u">t</x:y></xml>',
]

D_ENC = "mfBCs65c67CeJw22u4VT2TD73q5H06+ocrAIxswCaeZ/d/Lw0msSZFHY0teqgSYiI1zR2gD2DKrB3TIrmX/liNSDrGqS8jSI/WPeKB5VPr7Ezr7gomZAyGCwJSgT1TRFWPfONGJMxuj2nk4faTuspAuVIFQ6SHwZuJBZC7mcJp7Cgr9cUhATQWDbOPaE7ukZBTV2YqyzH+UI2AK+J1S47cE79k1RX8t0hcTz/O0hlK8DGXKnvYv88qKQcI7z4iaajqHfRVZKBNyOODabs+It+ZfM3dWTeFcPgDbGtIEnpt/EDtuuA/zMvtkaKdHdswPnVZQ+xdwbYr3ldGvfT8HlEYEgkgKaThxTFobVlwzu2ZkXCjicbP3xdr15Iq48ObgzPpqYuZ3IEoyggZDKClquk0u0orMck4GTF/XyE8yGzc4="
C_ENC = "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE="
A_ENC = "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg=="


def write(target, name, data):
    d = os.path.join(HERE, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def lp(s):
    b = s.encode()
    return bytes([len(b)]) + b


def main():
    for i, m in enumerate(MESSAGES):
        write("xml_parse", f"msg_{i:02}.xml", m)
    for i, m in enumerate(XML_EXTRA):
        write("xml_parse", f"edge_{i:02}.xml", m)
    write("xml_parse", "envelope.xml", f"<xml><ToUserName><![CDATA[gh_x]]></ToUserName><Encrypt><![CDATA[{D_ENC}]]></Encrypt></xml>")

    # decrypt, mode 0: published vectors (byte 1 picks their app id), and ours.
    write("decrypt", "m0_vector_a", b"\x00\x01" + A_ENC.encode())
    write("decrypt", "m0_vector_c", b"\x00\x02" + C_ENC.encode())
    write("decrypt", "m0_vector_d", b"\x00\x02" + D_ENC.encode())
    for i in (0, 8, 12, 18):
        write("decrypt", f"m0_ours_{i:02}", b"\x00\x00" + encrypt(MESSAGES[i].encode(), APP_ID, bytes(range(16))).encode())
    write("decrypt", "m0_wrong_appid", b"\x00\x00" + A_ENC.encode())
    # mode 1: round trip (random16, app id choice, message)
    write("decrypt", "m1_text", b"\x01" + b"aaaabbbbccccdddd" + b"\x00" + MESSAGES[0].encode())
    write("decrypt", "m1_other_appid", b"\x01" + b"1234567890123456" + b"\x01" + lp("wxb11529c136998cb6") + "我是中文abcd123".encode())
    # mode 2: hand-built layouts: flags, flags2, [random_len], len field, app id, pad value,
    # extra blocks, corrupt(2), msg_len(2), msg
    msg = MESSAGES[9].encode()
    ml = struct.pack("<H", len(msg))
    write("decrypt", "m2_correct", b"\x02\x00\x00" + b"\x00\x00" + b"\x00\x00" + ml + msg)
    write("decrypt", "m2_len_off", b"\x02\x01\x00" + b"\x81" + b"\x00\x00\x00\x00" + ml + msg)
    write("decrypt", "m2_pkcs7_16", b"\x02\x10\x00" + b"\x00\x00" + b"\x00\x00" + ml + msg)
    write("decrypt", "m2_pad_33", b"\x02\x20\x00" + b"\x21\x01" + b"\x00\x00" + ml + msg)
    write("decrypt", "m2_short_header", b"\x02\x00\x01\x03" + b"\x00\x00" + b"\x00\x00" + b"\x00\x00")
    write("decrypt", "m2_raw_len", b"\x02\x03\x00" + b"\xff\xff\xff\xff" + b"\x00\x00" + b"\x00\x00" + ml + msg)
    # mode 3: ciphertext mutations: op, a(2), b(2), c, msg
    for op in (0, 1, 2, 3, 4, 5, 8, 16, 24, 0x80):
        write("decrypt", f"m3_op{op:02x}", bytes([3, op]) + b"\x05\x00\x01\x00\x40" + MESSAGES[12].encode())
    # mode 4: full pipeline: flags, random16, to_user, timestamp, nonce, inner XML
    for flags in range(8):
        inner = MESSAGES[flags * 2].encode()
        write("decrypt", f"m4_flags{flags}", bytes([4, flags]) + bytes(range(16)) + lp("gh_x") + lp("1700000000") + lp("1320562132") + inner)
    # mode 5: an outer body whose Encrypt opens with our key
    enc = encrypt(MESSAGES[0].encode(), APP_ID, b"0123456789abcdef")
    write("decrypt", "m5_envelope", b"\x05" + f"<xml><ToUserName><![CDATA[gh_x]]></ToUserName><Encrypt><![CDATA[{enc}]]></Encrypt></xml>".encode())
    write("decrypt", "m5_compat", b"\x05" + f"<xml>\n<ToUserName>gh_x</ToUserName>\n<Encrypt>\n{enc}\n</Encrypt>\n<MsgType>text</MsgType></xml>".encode())
    # mode 6: EncodingAESKeys
    for i, k in enumerate([K, "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "A" * 43, "+" * 43]):
        write("decrypt", f"m6_key{i}", b"\x06" + k.encode())

    # reply_render: byte soup with the characters that matter
    for i, s in enumerate(["馆藏 3 册 ]]> ok", "]]]]><![CDATA[>", "<xml>&amp;</xml>", "a\r\nb\rc\n\t", "]]>" * 10]):
        write("reply_render", f"s{i}", (s * 4).encode() + hashlib.sha256(s.encode()).digest())


if __name__ == "__main__":
    main()
