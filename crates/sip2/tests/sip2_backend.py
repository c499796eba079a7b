"""A richer SIP2 ACS on the pysip2 0.1.0 server library, for the sip2 crate's client tests.

Modelled on ../shared/peers/sip2/sip2_toy_server.py, with what the toy lacks: hold queues that
can be placed and cancelled (and show up as AS hold items), a renewal-limit refusal next to a
hold refusal, a blocked patron with fines, BP/BQ paging, a configurable charset, and a slow
item (for timeouts and for killing the server while a request is in flight).

Usage: python sip2_backend.py PORT [--encoding utf-8|gbk] [--login-required]
       [--error-detection auto|required]
Binds 127.0.0.1. Login user 'sc' / 'scpass'. Data:
  patron 2021001 / 1234 张三      charged 3901 (renewable), 3902 (held by 2021002), 3904 (renewal limit)
  patron 2021002 / 5678 李四      blocked (charge denied, excessive fines), fee 12.50, holds 3902
  items 3901..3905; 3903 available; 3905 on the hold shelf; 3999 answers after 10 s.
"""
import argparse
import datetime as dt
import logging
import time

import anyio
from pysip2 import (
    END_PATRON_SESSION, HOLD, ITEM_INFORMATION, LOGIN, PATRON_INFORMATION, PATRON_STATUS,
    RENEW, RENEW_ALL,
    EndSessionResponse, HoldResponse, ItemInformationResponse, LoginResponse,
    PatronInformationResponse, PatronStatusResponse, RenewAllResponse, RenewResponse, SIP2Server,
)

INST = "UNIVLIB"
MAX_RENEWALS = 2
PATRONS = {
    "2021001": {"pin": "1234", "name": "张三", "fee": "0.00", "status": " " * 14},
    "2021002": {"pin": "5678", "name": "李四", "fee": "12.50", "status": "Y" + " " * 9 + "Y" + " " * 3},
}
ITEMS = {
    "3901": {"title": "数据结构 (C语言版)", "holder": "2021001", "due": "20260110", "renewals": 0, "holds": []},
    "3902": {"title": "Programming Rust", "holder": "2021001", "due": "20251201", "renewals": 2, "holds": ["2021002"]},
    "3903": {"title": "算法导论", "holder": None, "due": None, "renewals": 0, "holds": []},
    "3904": {"title": "计算机网络", "holder": "2021001", "due": "20261215", "renewals": 2, "holds": []},
    "3905": {"title": "操作系统概念", "holder": None, "due": None, "renewals": 0, "holds": ["2021001"]},
    "3999": {"title": "Slow item", "holder": None, "due": None, "renewals": 0, "holds": []},
}


def sipdate(yyyymmdd):
    return yyyymmdd + "    " + "235900"


def patron_ok(pid, pin):
    p = PATRONS.get(pid)
    return p is not None and (pin is None or p["pin"] == pin)


def build(args):
    app = SIP2Server(institution_id=INST, library_name="Univ Library", encoding=args.encoding,
                     error_detection=args.error_detection, login_required=args.login_required)

    @app.route(LOGIN)
    def login(req, ctx):
        return LoginResponse(ok="1" if (req.login_user_id, req.login_password) == ("sc", "scpass") else "0")

    @app.route(PATRON_STATUS)
    def patron_status(req, ctx):
        p = PATRONS.get(req.patron_identifier)
        return PatronStatusResponse(
            patron_status=p["status"] if p else " " * 14, language=req.language,
            transaction_date=ctx.now_18(), institution_id=INST,
            patron_identifier=req.patron_identifier, personal_name=p["name"] if p else "",
            valid_patron="Y" if p else "N",
            valid_patron_password="Y" if p and p["pin"] == req.patron_password else "N",
            currency_type="CNY", fee_amount=p["fee"] if p else None,
            screen_message=() if p else ("Unknown patron",),
        )

    @app.route(PATRON_INFORMATION)
    def patron_info(req, ctx):
        pid = req.patron_identifier
        p = PATRONS.get(pid)
        today = dt.date.today().strftime("%Y%m%d")
        charged = [b for b, i in ITEMS.items() if i["holder"] == pid]
        overdue = [b for b in charged if ITEMS[b]["due"] < today]
        holds = [b for b, i in ITEMS.items() if pid in i["holds"]]
        fines = [f"{p['fee']} CNY overdue fine"] if p and p["fee"] != "0.00" else []

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
            email_address=f"{pid}@example.edu" if p else None,
            screen_message=("Patron blocked: fines",) if p and p["status"].strip() else (),
        )

    @app.route(ITEM_INFORMATION)
    def item_info(req, ctx):
        if req.item_identifier == "3999":
            time.sleep(10)
        i = ITEMS.get(req.item_identifier)
        if not i:
            return ItemInformationResponse(
                circulation_status="13", security_marker="00", fee_type="01",
                transaction_date=ctx.now_18(), item_identifier=req.item_identifier,
                title_identifier="", screen_message=("Item not found",))
        status = "04" if i["holder"] else ("08" if i["holds"] else "03")
        return ItemInformationResponse(
            circulation_status=status, security_marker="02", fee_type="01",
            transaction_date=ctx.now_18(), hold_queue_length=str(len(i["holds"])),
            due_date=sipdate(i["due"]) if i["due"] else None,
            item_identifier=req.item_identifier, title_identifier=i["title"],
            permanent_location="Main stacks", current_location="Hold shelf" if status == "08" else None,
            media_type="001",
        )

    def renew_one(pid, barcode):
        i = ITEMS.get(barcode)
        if not i or i["holder"] != pid:
            return False, "Item not charged to this patron"
        if i["holds"]:
            return False, "Item is on hold for another patron"
        if i["renewals"] >= MAX_RENEWALS:
            return False, "Renewal limit reached"
        i["renewals"] += 1
        i["due"] = (dt.date.today() + dt.timedelta(days=30)).strftime("%Y%m%d")
        return True, "Renewed"

    @app.route(RENEW)
    def renew(req, ctx):
        if not patron_ok(req.patron_identifier, req.patron_password):
            ok, msg = False, "Invalid patron or password"
        else:
            ok, msg = renew_one(req.patron_identifier, req.item_identifier or "")
        i = ITEMS.get(req.item_identifier or "", {})
        return RenewResponse(
            ok="1" if ok else "0", renewal_ok="Y" if ok else "N", magnetic_media="U", desensitize="U",
            transaction_date=ctx.now_18(), institution_id=INST, patron_identifier=req.patron_identifier,
            item_identifier=req.item_identifier or "", title_identifier=i.get("title", ""),
            due_date=sipdate(i["due"]) if i.get("due") else "", screen_message=(msg,),
        )

    @app.route(RENEW_ALL)
    def renew_all(req, ctx):
        done, notdone, msgs = [], [], []
        if patron_ok(req.patron_identifier, req.patron_password):
            for b, i in ITEMS.items():
                if i["holder"] == req.patron_identifier:
                    ok, msg = renew_one(req.patron_identifier, b)
                    (done if ok else notdone).append(b)
                    if not ok:
                        msgs.append(f"{b}: {msg}")
        return RenewAllResponse(ok="1", renewed_count=f"{len(done):04d}", unrenewed_count=f"{len(notdone):04d}",
                                transaction_date=ctx.now_18(), institution_id=INST,
                                renewed_items=tuple(done), unrenewed_items=tuple(notdone),
                                screen_message=tuple(msgs))

    @app.route(HOLD)
    def hold(req, ctx):
        pid = req.patron_identifier
        barcode = req.item_identifier
        if not barcode and req.title_identifier:
            barcode = next((b for b, i in ITEMS.items() if i["title"] == req.title_identifier), None)
        i = ITEMS.get(barcode or "")

        def answer(ok, msg, pos=None):
            return HoldResponse(
                ok="1" if ok else "0", available="Y" if i and i["holder"] is None else "N",
                transaction_date=ctx.now_18(), queue_position=pos,
                pickup_location=req.pickup_location if ok else None,
                institution_id=INST, patron_identifier=pid, item_identifier=barcode,
                title_identifier=i["title"] if i else None, screen_message=(msg,))

        if not patron_ok(pid, req.patron_password):
            return answer(False, "Invalid patron or password")
        if not i:
            return answer(False, "No such item or title")
        if PATRONS[pid]["status"][3] == "Y":
            return answer(False, "Hold privileges denied")
        if req.hold_mode == "+":
            if pid in i["holds"]:
                return answer(False, "Already on hold", str(i["holds"].index(pid) + 1))
            if i["holder"] == pid:
                return answer(False, "Item is charged to you")
            i["holds"].append(pid)
            return answer(True, "Hold placed", str(len(i["holds"])))
        if req.hold_mode == "-":
            if pid not in i["holds"]:
                return answer(False, "No hold to cancel")
            i["holds"].remove(pid)
            return answer(True, "Hold cancelled")
        return answer(False, "Changing holds is not supported")

    @app.route(END_PATRON_SESSION)
    def end_session(req, ctx):
        return EndSessionResponse(end_session="Y", transaction_date=ctx.now_18(), institution_id=INST,
                                  patron_identifier=req.patron_identifier)

    return app


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("--encoding", default="utf-8")
    ap.add_argument("--login-required", action="store_true")
    ap.add_argument("--error-detection", default="auto", choices=["auto", "required"])
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    anyio.run(build(args).serve, "127.0.0.1", args.port)
