"""A library system (ACS) speaking SIP2, on the pysip2 0.1.0 server library: the one SIP2 peer of
the sip2 crate's client tests (crates/sip2/tests) and of wxlib's end-to-end borrowing tests
(tests/python/test_borrowing_sip2.py, `circulation.system = "sip2"`).

pysip2 does the protocol (framing, sequence numbers, checksums, charsets, login); this module is
the library behind it: patrons, loans, hold queues and renewal rules, in one of three data sets.

  --data toy        the data of the pysip2 toy server this project was first tested against
                    (shared/peers/sip2/sip2_toy_server.py on the reference shelf):
                    patron 2021001 / 1234 张三, items 3901 (renewable), 3902 (on hold for another
                    reader, no renewals left), 3903 (available, "Introduction to Algorithms").
  --data client     the sip2 crate's richer set, in English:
                    patron 2021001 / 1234 张三   charged 3901 (renewable), 3902 (held by 2021002),
                                                 3904 (renewal limit); on the hold shelf: 3905
                    patron 2021002 / 5678 李四   blocked (charge privileges denied, excessive
                                                 fines), fee 12.50, holds 3902
                    items 3901..3905 (3903 available, "算法导论"); 3999 answers after 10 s (for
                    timeouts and for killing the server while a request is in flight).
  --data borrowing  wxlib's borrowing tests, in Chinese as a Chinese ILS answers: the barcodes
                    test_borrowing_sip2.py loads into wxlib's catalog, due dates relative to the
                    first start, one renewal allowed:
                    patron 2021001 张三 / pw-Secret-1234   charged B001 (+2 days), B004 (+5), B003 (+10)
                    patron 2021002 李四 / 5678             charged J900 (not in wxlib's catalog, +20),
                                                           fee 12.50
                    items B001 B002 (明代政治制度), B003 (psoriasis), B004 (Einstein), J900

--items FILE adds copies to any data set: a CSV with a header and the columns barcode,title, each
copy on the shelf (the live-availability tests and bench/availability load the barcodes of their
MARC records' 952 fields this way; a barcode the data set has already keeps its data).

Patron Information lists a hold as available (AS, the hold items count) once it can be picked up —
the copy is on the hold shelf (held, not charged) and the patron is first in its queue — and as an
unavailable hold (CD) until then, as ILSs do: checking in a held copy makes the first reader's hold
available.

Every set: SC login 'sc' / 'scpass'; institution UNIVLIB. A request that names a patron and sends
a password is refused when the password is wrong; one that sends none is trusted (the SC login
is, as in most ILSs' self-service accounts). A renewal is refused when another reader holds the
item or the renewal limit is reached; it moves the due date to 30 days from today (never
earlier). Hold (15) places (`+`) and cancels (`-`) by barcode or title.

With --state FILE the library's state (patrons, items, a log of changes) is written to FILE as
JSON after every change and read at start, so the server can be killed and started again on the
same port with its data (as a real ILS's database survives); without it the state lives in
memory.

Usage: python sip2_backend.py PORT --data toy|client|borrowing [--state FILE] [--items FILE]
       [--max-renewals N] [--encoding utf-8|gbk] [--login-required]
       [--error-detection auto|required]
Binds 127.0.0.1; logs "pysip2 listening on ..." once it accepts connections.
"""
import argparse
import csv
import datetime as dt
import json
import logging
import os
import pathlib
import sys
import time

import anyio
from pysip2 import (
    CHECKIN, CHECKOUT, END_PATRON_SESSION, FEE_PAID, HOLD, ITEM_INFORMATION, LOGIN,
    PATRON_INFORMATION, PATRON_STATUS, RENEW, RENEW_ALL,
    CheckinResponse, CheckoutResponse, EndSessionResponse, FeePaidResponse, HoldResponse,
    ItemInformationResponse, LoginResponse, PatronInformationResponse, PatronStatusResponse,
    RenewAllResponse, RenewResponse, SIP2Server,
)

INST = "UNIVLIB"
SC_LOGIN = ("sc", "scpass")
LOAN_DAYS = 30
BLANK_STATUS = " " * 14
# Patron status (14 flags): charge privileges denied (1st) and excessive outstanding fines (11th).
BLOCKED_STATUS = "Y" + " " * 9 + "Y" + " " * 3

# What the library system says, in the language of its data set.
MESSAGES = {
    "en": {
        "unknown_patron": "Unknown patron",
        "bad_patron": "Invalid patron or password",
        "blocked": "Patron blocked: fines",
        "fine": "{fee} CNY overdue fine",
        "no_item": "Item not found",
        "hold_shelf": "Hold shelf",
        "not_charged": "Item not charged to this patron",
        "held_by_other": "Item is on hold for another patron",
        "renewal_limit": "Renewal limit reached",
        "renewed": "Renewed",
        "no_such_title": "No such item or title",
        "hold_denied": "Hold privileges denied",
        "already_held": "Already on hold",
        "charged_to_you": "Item is charged to you",
        "hold_placed": "Hold placed",
        "no_hold": "No hold to cancel",
        "hold_cancelled": "Hold cancelled",
        "hold_change": "Changing holds is not supported",
    },
    "zh": {
        "unknown_patron": "读者证号不存在",
        "bad_patron": "读者证号或密码错误",
        "blocked": "读者证已暂停：有欠款",
        "fine": "{fee} 元超期罚款",
        "no_item": "没有这个条码",
        "hold_shelf": "预约书架",
        "not_charged": "该书不在您的借阅记录中",
        "held_by_other": "该书已被其他读者预约，不能续借",
        "renewal_limit": "续借次数已达上限（{max} 次）",
        "renewed": "续借成功",
        "no_such_title": "没有这本书",
        "hold_denied": "您的预约权限已暂停",
        "already_held": "您已预约过这本书",
        "charged_to_you": "这本书正借在您名下",
        "hold_placed": "预约成功",
        "no_hold": "没有这条预约",
        "hold_cancelled": "预约已取消",
        "hold_change": "不支持修改预约",
    },
}


def day(offset):
    """Today plus `offset` days, as the YYYYMMDD the state keeps."""
    return (dt.date.today() + dt.timedelta(days=offset)).strftime("%Y%m%d")


def patron(pin, name, fee="0.00", status=BLANK_STATUS, email=None):
    return {"pin": pin, "name": name, "fee": fee, "status": status, "email": email}


def item(title, holder=None, due=None, renewals=0, holds=(), delay=0):
    """`delay`: seconds the library system takes to answer Item Information about it."""
    record = {"title": title, "holder": holder, "due": due, "renewals": renewals, "holds": list(holds)}
    if delay:
        record["delay"] = delay
    return record


def toy():
    return {
        "library": {"name": "Univ Library", "lang": "en", "location": "Main stacks", "max_renewals": 2},
        "patrons": {"2021001": patron("1234", "张三", email="zhangsan@example.edu")},
        "items": {
            "3901": item("数据结构 (C语言版)", "2021001", "20260110"),
            "3902": item("Programming Rust", "2021001", "20251201", renewals=2, holds=["2021002"]),
            "3903": item("Introduction to Algorithms"),
        },
    }


def client():
    return {
        "library": {"name": "Univ Library", "lang": "en", "location": "Main stacks", "max_renewals": 2},
        "patrons": {
            "2021001": patron("1234", "张三", email="2021001@example.edu"),
            "2021002": patron("5678", "李四", fee="12.50", status=BLOCKED_STATUS, email="2021002@example.edu"),
        },
        "items": {
            "3901": item("数据结构 (C语言版)", "2021001", "20260110"),
            "3902": item("Programming Rust", "2021001", "20251201", renewals=2, holds=["2021002"]),
            "3903": item("算法导论"),
            "3904": item("计算机网络", "2021001", "20261215", renewals=2),
            "3905": item("操作系统概念", holds=["2021001"]),
            "3999": item("Slow item", delay=10),
        },
    }


def borrowing():
    reader, other = "2021001", "2021002"
    return {
        "library": {"name": "大学图书馆", "lang": "zh", "location": "总馆", "max_renewals": 1},
        "patrons": {
            reader: patron("pw-Secret-1234", "张三"),
            other: patron("5678", "李四", fee="12.50"),
        },
        "items": {
            "B001": item("明代政治制度", reader, day(2)),
            "B002": item("明代政治制度"),
            "B003": item("Coping with psoriasis", reader, day(10)),
            "B004": item("Albert Einstein", reader, day(5)),
            "J900": item("图书馆学通讯 2024 合订本", other, day(20)),
        },
    }


DATA_SETS = {"toy": toy, "client": client, "borrowing": borrowing}


class Library:
    """The library system's data and rules; saved to `state_path` (if any) after every change."""

    def __init__(self, data_set, state_path=None, max_renewals=None, items_path=None):
        self.state_path = pathlib.Path(state_path) if state_path else None
        if self.state_path and self.state_path.exists():
            self.state = json.loads(self.state_path.read_text())
        else:
            self.state = DATA_SETS[data_set]()
            self.state["log"] = []
        if items_path:
            with open(items_path, newline="", encoding="utf-8") as f:
                for row in csv.DictReader(f):
                    self.items.setdefault(row["barcode"], item(row["title"]))
        settings = self.state["library"]
        self.name = settings["name"]
        self.location = settings["location"]
        self.messages = MESSAGES[settings["lang"]]
        self.max_renewals = settings["max_renewals"] if max_renewals is None else max_renewals
        self.save()

    @property
    def patrons(self):
        return self.state["patrons"]

    @property
    def items(self):
        return self.state["items"]

    def say(self, key, **values):
        return self.messages[key].format(max=self.max_renewals, **values)

    def save(self):
        if self.state_path is None:
            return
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state, ensure_ascii=False, indent=1))
        os.replace(tmp, self.state_path)

    def note(self, what):
        self.state["log"].append(what)
        self.save()

    def patron_ok(self, pid, pin):
        """A known patron, and the password right if one was sent (the SC login is trusted)."""
        p = self.patrons.get(pid)
        return p is not None and (pin is None or p["pin"] == pin)

    def renew_one(self, pid, barcode):
        i = self.items.get(barcode)
        if not i or i["holder"] != pid:
            return False, self.say("not_charged")
        if any(h != pid for h in i["holds"]):
            return False, self.say("held_by_other")
        if i["renewals"] >= self.max_renewals:
            return False, self.say("renewal_limit")
        i["renewals"] += 1
        i["due"] = max(i["due"] or "", day(LOAN_DAYS))
        self.note(f"renewed {barcode} for {pid}")
        return True, self.say("renewed")


def sipdate(yyyymmdd):
    return yyyymmdd + "    " + "235900"


def build(args):
    lib = Library(args.data, args.state, args.max_renewals, args.items)
    app = SIP2Server(institution_id=INST, library_name=lib.name, encoding=args.encoding,
                     error_detection=args.error_detection, login_required=args.login_required)

    @app.route(LOGIN)
    def login(req, ctx):
        return LoginResponse(ok="1" if (req.login_user_id, req.login_password) == SC_LOGIN else "0")

    @app.route(PATRON_STATUS)
    def patron_status(req, ctx):
        p = lib.patrons.get(req.patron_identifier)
        return PatronStatusResponse(
            patron_status=p["status"] if p else BLANK_STATUS, language=req.language,
            transaction_date=ctx.now_18(), institution_id=INST,
            patron_identifier=req.patron_identifier, personal_name=p["name"] if p else "",
            valid_patron="Y" if p else "N",
            valid_patron_password="Y" if p and p["pin"] == req.patron_password else "N",
            currency_type="CNY", fee_amount=p["fee"] if p else None,
            screen_message=() if p else (lib.say("unknown_patron"),),
        )

    @app.route(PATRON_INFORMATION)
    def patron_info(req, ctx):
        pid = req.patron_identifier
        p = lib.patrons.get(pid)
        today = day(0)
        charged = [b for b, i in lib.items.items() if i["holder"] == pid]
        overdue = [b for b in charged if lib.items[b]["due"] < today]
        # Available: on the hold shelf for this patron (first in the queue, not charged).
        holds = [b for b, i in lib.items.items() if i["holds"][:1] == [pid] and i["holder"] is None]
        waiting = [b for b, i in lib.items.items() if pid in i["holds"] and b not in holds]
        fines = [lib.say("fine", fee=p["fee"])] if p and p["fee"] != "0.00" else []

        def page(items):
            start = int(req.start_item or 1)
            end = int(req.end_item or len(items))
            return tuple(items[start - 1:end])

        s = req.summary
        return PatronInformationResponse(
            patron_status=p["status"] if p else BLANK_STATUS, language=req.language,
            transaction_date=ctx.now_18(),
            hold_items_count=f"{len(holds):04d}", overdue_items_count=f"{len(overdue):04d}",
            charged_items_count=f"{len(charged):04d}", fine_items_count=f"{len(fines):04d}",
            recall_items_count="0000", unavailable_holds_count=f"{len(waiting):04d}",
            institution_id=INST, patron_identifier=pid, personal_name=p["name"] if p else "",
            valid_patron="Y" if p else "N",
            valid_patron_password="Y" if p and p["pin"] == (req.patron_password or "") else "N",
            currency_type="CNY", fee_amount=p["fee"] if p else None,
            charged_items_limit="0020",
            hold_items=page(holds) if s[0] == "Y" else (),
            overdue_items=page(overdue) if s[1] == "Y" else (),
            charged_items=page(charged) if s[2] == "Y" else (),
            fine_items=page(fines) if s[3] == "Y" else (),
            unavailable_hold_items=page(waiting) if s[5] == "Y" else (),
            email_address=p["email"] if p else None,
            screen_message=(lib.say("blocked"),) if p and p["status"].strip() else (),
        )

    @app.route(ITEM_INFORMATION)
    def item_info(req, ctx):
        i = lib.items.get(req.item_identifier)
        if i and i.get("delay"):
            time.sleep(i["delay"])
        if not i:
            return ItemInformationResponse(
                circulation_status="13", security_marker="00", fee_type="01",
                transaction_date=ctx.now_18(), item_identifier=req.item_identifier,
                title_identifier="", screen_message=(lib.say("no_item"),))
        status = "04" if i["holder"] else ("08" if i["holds"] else "03")
        return ItemInformationResponse(
            circulation_status=status, security_marker="02", fee_type="01",
            transaction_date=ctx.now_18(), hold_queue_length=str(len(i["holds"])),
            due_date=sipdate(i["due"]) if i["due"] else None,
            item_identifier=req.item_identifier, title_identifier=i["title"],
            permanent_location=lib.location, current_location=lib.say("hold_shelf") if status == "08" else None,
            media_type="001",
        )

    @app.route(RENEW)
    def renew(req, ctx):
        if not lib.patron_ok(req.patron_identifier, req.patron_password):
            ok, msg = False, lib.say("bad_patron")
        else:
            ok, msg = lib.renew_one(req.patron_identifier, req.item_identifier or "")
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
        ok = lib.patron_ok(req.patron_identifier, req.patron_password)
        if ok:
            for b, i in lib.items.items():
                if i["holder"] == req.patron_identifier:
                    renewed, msg = lib.renew_one(req.patron_identifier, b)
                    (done if renewed else notdone).append(b)
                    if not renewed:
                        msgs.append(f"{b}: {msg}")
        else:
            msgs.append(lib.say("bad_patron"))
        return RenewAllResponse(ok="1" if ok else "0", renewed_count=f"{len(done):04d}", unrenewed_count=f"{len(notdone):04d}",
                                transaction_date=ctx.now_18(), institution_id=INST,
                                renewed_items=tuple(done), unrenewed_items=tuple(notdone),
                                screen_message=tuple(msgs))

    @app.route(CHECKOUT)
    def checkout(req, ctx):
        i = lib.items.get(req.item_identifier)
        ok = bool(i) and i["holder"] is None
        if ok:
            i["holder"], i["due"] = req.patron_identifier, day(LOAN_DAYS)
            lib.note(f"checked out {req.item_identifier} to {req.patron_identifier}")
        return CheckoutResponse(ok="1" if ok else "0", renewal_ok="N", magnetic_media="N", desensitize="Y" if ok else "N",
                                transaction_date=ctx.now_18(), institution_id=INST,
                                patron_identifier=req.patron_identifier, item_identifier=req.item_identifier,
                                title_identifier=i["title"] if i else "", due_date=sipdate(i["due"]) if ok else "")

    @app.route(CHECKIN)
    def checkin(req, ctx):
        i = lib.items.get(req.item_identifier)
        ok = bool(i) and i["holder"] is not None
        if ok:
            i["holder"], i["due"], i["renewals"] = None, None, 0
            lib.note(f"checked in {req.item_identifier}")
        return CheckinResponse(ok="1" if ok else "0", resensitize="Y", magnetic_media="N", alert="N",
                               transaction_date=ctx.now_18(), institution_id=INST, item_identifier=req.item_identifier,
                               permanent_location=lib.location, title_identifier=i["title"] if i else None)

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

        if not lib.patron_ok(pid, req.patron_password):
            return answer(False, lib.say("bad_patron"))
        if not i:
            return answer(False, lib.say("no_such_title"))
        if lib.patrons[pid]["status"][3] == "Y":
            return answer(False, lib.say("hold_denied"))
        if req.hold_mode == "+":
            if pid in i["holds"]:
                return answer(False, lib.say("already_held"), str(i["holds"].index(pid) + 1))
            if i["holder"] == pid:
                return answer(False, lib.say("charged_to_you"))
            i["holds"].append(pid)
            lib.note(f"hold {barcode} for {pid}")
            return answer(True, lib.say("hold_placed"), str(len(i["holds"])))
        if req.hold_mode == "-":
            if pid not in i["holds"]:
                return answer(False, lib.say("no_hold"))
            i["holds"].remove(pid)
            lib.note(f"hold cancelled {barcode} for {pid}")
            return answer(True, lib.say("hold_cancelled"))
        return answer(False, lib.say("hold_change"))

    @app.route(FEE_PAID)
    def fee_paid(req, ctx):
        return FeePaidResponse(payment_accepted="Y", transaction_date=ctx.now_18(), institution_id=INST,
                               patron_identifier=req.patron_identifier, transaction_id=req.transaction_id)

    @app.route(END_PATRON_SESSION)
    def end_session(req, ctx):
        return EndSessionResponse(end_session="Y", transaction_date=ctx.now_18(), institution_id=INST,
                                  patron_identifier=req.patron_identifier)

    return app


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="A SIP2 library system on pysip2, for tests.")
    ap.add_argument("port", type=int)
    ap.add_argument("--data", required=True, choices=sorted(DATA_SETS), help="which library: its patrons, items and rules")
    ap.add_argument("--state", help="keep the state in this JSON file (survives a restart)")
    ap.add_argument("--items", help="CSV (barcode,title) of more copies on the shelf")
    ap.add_argument("--max-renewals", type=int, help="renewals allowed per loan (default: the data set's)")
    ap.add_argument("--encoding", default="utf-8")
    ap.add_argument("--login-required", action="store_true")
    ap.add_argument("--error-detection", default="auto", choices=["auto", "required"])
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    anyio.run(build(args).serve, "127.0.0.1", args.port)
