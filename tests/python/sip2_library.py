"""A library system (ACS) speaking SIP2, on the pysip2 0.1.0 server library, for wxlib's end-to-end
borrowing tests with `circulation.system = "sip2"`. Extends crates/sip2/tests/sip2_backend.py.

Its items are the barcodes tests/python/test_borrowing_sip2.py loads into wxlib's catalog
(`wxlib load items`), so search, record details and holds line up; the library system holds the
patrons, loans, holds and the renewal rules. Its answers are in Chinese, as a Chinese ILS's are.

The state lives in a JSON file (--state), written after every change and read at start, so the
server can be killed and started again on the same port (its database survives, as a real ILS's
does). Requests for patron data need no patron password (AD): the SC login is trusted, as in most
ILSs' self-service accounts; a wrong password that *is* sent is refused.

Usage: python sip2_library.py PORT --state FILE [--max-renewals N] [--encoding utf-8|gbk]
       [--login-required]
Login user 'sc' / 'scpass'. Initial data (due dates relative to the first start):
  patron 2021001 张三 / pw-Secret-1234   charged B001 (+2 days), B004 (+5), B003 (+10)
  patron 2021002 李四 / 5678             charged J900 (not in wxlib's catalog, +20), fee 12.50
  items B001 B002 (明代政治制度), B003 (psoriasis), B004 (Einstein), J900
"""
import argparse
import datetime as dt
import json
import logging
import os
import pathlib
import sys

import anyio
from pysip2 import (
    END_PATRON_SESSION, HOLD, ITEM_INFORMATION, LOGIN, PATRON_INFORMATION, PATRON_STATUS,
    RENEW, RENEW_ALL,
    EndSessionResponse, HoldResponse, ItemInformationResponse, LoginResponse,
    PatronInformationResponse, PatronStatusResponse, RenewAllResponse, RenewResponse, SIP2Server,
)

INST = "UNIVLIB"
CARD_READER = "2021001"
CARD_OTHER = "2021002"


def day(offset):
    return (dt.date.today() + dt.timedelta(days=offset)).strftime("%Y%m%d")


def initial_state():
    return {
        "patrons": {
            CARD_READER: {"pin": "pw-Secret-1234", "name": "张三", "fee": "0.00", "status": " " * 14},
            CARD_OTHER: {"pin": "5678", "name": "李四", "fee": "12.50", "status": " " * 14},
        },
        "items": {
            "B001": {"title": "明代政治制度", "holder": CARD_READER, "due": day(2), "renewals": 0, "holds": []},
            "B002": {"title": "明代政治制度", "holder": None, "due": None, "renewals": 0, "holds": []},
            "B003": {"title": "Coping with psoriasis", "holder": CARD_READER, "due": day(10), "renewals": 0, "holds": []},
            "B004": {"title": "Albert Einstein", "holder": CARD_READER, "due": day(5), "renewals": 0, "holds": []},
            "J900": {"title": "图书馆学通讯 2024 合订本", "holder": CARD_OTHER, "due": day(20), "renewals": 0, "holds": []},
        },
        "log": [],
    }


class Library:
    def __init__(self, path, max_renewals):
        self.path = pathlib.Path(path)
        self.max_renewals = max_renewals
        self.state = json.loads(self.path.read_text()) if self.path.exists() else initial_state()
        self.save()

    @property
    def patrons(self):
        return self.state["patrons"]

    @property
    def items(self):
        return self.state["items"]

    def save(self):
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state, ensure_ascii=False, indent=1))
        os.replace(tmp, self.path)

    def note(self, what):
        self.state["log"].append(what)
        self.save()


def sipdate(yyyymmdd):
    return yyyymmdd + "    " + "235900"


def build(args):
    lib = Library(args.state, args.max_renewals)
    app = SIP2Server(institution_id=INST, library_name="大学图书馆", encoding=args.encoding,
                     error_detection="auto", login_required=args.login_required)

    def patron_ok(pid, pin):
        """Known patron, and the password right if one was sent (the SC login is trusted)."""
        p = lib.patrons.get(pid)
        return p is not None and (pin is None or p["pin"] == pin)

    @app.route(LOGIN)
    def login(req, ctx):
        return LoginResponse(ok="1" if (req.login_user_id, req.login_password) == ("sc", "scpass") else "0")

    @app.route(PATRON_STATUS)
    def patron_status(req, ctx):
        p = lib.patrons.get(req.patron_identifier)
        return PatronStatusResponse(
            patron_status=p["status"] if p else " " * 14, language=req.language,
            transaction_date=ctx.now_18(), institution_id=INST,
            patron_identifier=req.patron_identifier, personal_name=p["name"] if p else "",
            valid_patron="Y" if p else "N",
            valid_patron_password="Y" if p and p["pin"] == req.patron_password else "N",
            currency_type="CNY", fee_amount=p["fee"] if p else None,
            screen_message=() if p else ("读者证号不存在",),
        )

    @app.route(PATRON_INFORMATION)
    def patron_info(req, ctx):
        pid = req.patron_identifier
        p = lib.patrons.get(pid)
        today = dt.date.today().strftime("%Y%m%d")
        charged = [b for b, i in lib.items.items() if i["holder"] == pid]
        overdue = [b for b in charged if lib.items[b]["due"] < today]
        holds = [b for b, i in lib.items.items() if pid in i["holds"]]
        fines = [f"{p['fee']} 元超期罚款"] if p and p["fee"] != "0.00" else []

        def page(items):
            start = int(req.start_item or 1)
            end = int(req.end_item or len(items))
            return tuple(items[start - 1:end])

        s = req.summary
        return PatronInformationResponse(
            patron_status=p["status"] if p else " " * 14, language=req.language,
            transaction_date=ctx.now_18(),
            hold_items_count=f"{len(holds):04d}", overdue_items_count=f"{len(overdue):04d}",
            charged_items_count=f"{len(charged):04d}", fine_items_count=f"{len(fines):04d}",
            recall_items_count="0000", unavailable_holds_count="0000",
            institution_id=INST, patron_identifier=pid, personal_name=p["name"] if p else "",
            valid_patron="Y" if p else "N",
            valid_patron_password="Y" if p and p["pin"] == (req.patron_password or "") else "N",
            currency_type="CNY", fee_amount=p["fee"] if p else None,
            charged_items_limit="0020",
            hold_items=page(holds) if s[0] == "Y" else (),
            overdue_items=page(overdue) if s[1] == "Y" else (),
            charged_items=page(charged) if s[2] == "Y" else (),
            fine_items=page(fines) if s[3] == "Y" else (),
        )

    @app.route(ITEM_INFORMATION)
    def item_info(req, ctx):
        i = lib.items.get(req.item_identifier)
        if not i:
            return ItemInformationResponse(
                circulation_status="13", security_marker="00", fee_type="01",
                transaction_date=ctx.now_18(), item_identifier=req.item_identifier,
                title_identifier="", screen_message=("没有这个条码",))
        status = "04" if i["holder"] else ("08" if i["holds"] else "03")
        return ItemInformationResponse(
            circulation_status=status, security_marker="02", fee_type="01",
            transaction_date=ctx.now_18(), hold_queue_length=str(len(i["holds"])),
            due_date=sipdate(i["due"]) if i["due"] else None,
            item_identifier=req.item_identifier, title_identifier=i["title"],
            permanent_location="总馆", media_type="001",
        )

    def renew_one(pid, barcode):
        i = lib.items.get(barcode)
        if not i or i["holder"] != pid:
            return False, "该书不在您的借阅记录中"
        if any(h != pid for h in i["holds"]):
            return False, "该书已被其他读者预约，不能续借"
        if i["renewals"] >= lib.max_renewals:
            return False, f"续借次数已达上限（{lib.max_renewals} 次）"
        i["renewals"] += 1
        i["due"] = max(i["due"], day(30))
        lib.note(f"renewed {barcode} for {pid}")
        return True, "续借成功"

    @app.route(RENEW)
    def renew(req, ctx):
        if not patron_ok(req.patron_identifier, req.patron_password):
            ok, msg = False, "读者证号或密码错误"
        else:
            ok, msg = renew_one(req.patron_identifier, req.item_identifier or "")
        i = lib.items.get(req.item_identifier or "", {})
        return RenewResponse(
            ok="1" if ok else "0", renewal_ok="Y" if ok else "N", magnetic_media="U", desensitize="U",
            transaction_date=ctx.now_18(), institution_id=INST, patron_identifier=req.patron_identifier,
            item_identifier=req.item_identifier or "", title_identifier=i.get("title", ""),
            due_date=sipdate(i["due"]) if i.get("due") else "", screen_message=(msg,),
        )

    @app.route(RENEW_ALL)
    def renew_all(req, ctx):
        done, notdone, msgs = [], [], []
        ok = patron_ok(req.patron_identifier, req.patron_password)
        if ok:
            for b, i in lib.items.items():
                if i["holder"] == req.patron_identifier:
                    renewed, msg = renew_one(req.patron_identifier, b)
                    (done if renewed else notdone).append(b)
                    if not renewed:
                        msgs.append(f"{b}: {msg}")
        else:
            msgs.append("读者证号或密码错误")
        return RenewAllResponse(ok="1" if ok else "0", renewed_count=f"{len(done):04d}", unrenewed_count=f"{len(notdone):04d}",
                                transaction_date=ctx.now_18(), institution_id=INST,
                                renewed_items=tuple(done), unrenewed_items=tuple(notdone),
                                screen_message=tuple(msgs))

    @app.route(HOLD)
    def hold(req, ctx):
        pid = req.patron_identifier
        barcode = req.item_identifier
        if not barcode and req.title_identifier:
            barcode = next((b for b, i in lib.items.items() if i["title"] == req.title_identifier), None)
        i = lib.items.get(barcode or "")

        def answer(ok, msg, pos=None):
            return HoldResponse(
                ok="1" if ok else "0", available="Y" if i and i["holder"] is None else "N",
                transaction_date=ctx.now_18(), queue_position=pos,
                pickup_location=req.pickup_location if ok else None,
                institution_id=INST, patron_identifier=pid, item_identifier=barcode,
                title_identifier=i["title"] if i else None, screen_message=(msg,))

        if not patron_ok(pid, req.patron_password):
            return answer(False, "读者证号或密码错误")
        if not i:
            return answer(False, "没有这本书")
        if lib.patrons[pid]["status"][3] == "Y":
            return answer(False, "您的预约权限已暂停")
        if req.hold_mode == "+":
            if pid in i["holds"]:
                return answer(False, "您已预约过这本书", str(i["holds"].index(pid) + 1))
            if i["holder"] == pid:
                return answer(False, "这本书正借在您名下")
            i["holds"].append(pid)
            lib.note(f"hold {barcode} for {pid}")
            return answer(True, "预约成功", str(len(i["holds"])))
        if req.hold_mode == "-":
            if pid not in i["holds"]:
                return answer(False, "没有这条预约")
            i["holds"].remove(pid)
            lib.note(f"hold cancelled {barcode} for {pid}")
            return answer(True, "预约已取消")
        return answer(False, "不支持修改预约")

    @app.route(END_PATRON_SESSION)
    def end_session(req, ctx):
        return EndSessionResponse(end_session="Y", transaction_date=ctx.now_18(), institution_id=INST,
                                  patron_identifier=req.patron_identifier)

    return app


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("--state", required=True)
    ap.add_argument("--max-renewals", type=int, default=1)
    ap.add_argument("--encoding", default="utf-8")
    ap.add_argument("--login-required", action="store_true")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    anyio.run(build(args).serve, "127.0.0.1", args.port)
