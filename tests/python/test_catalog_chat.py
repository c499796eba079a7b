"""Books query end to end: `wxlib import` loads the real MARC records, then a reader searches by
title, author, subject and any word through the WeChat callback (wechatpy-signed, safe mode),
pages, opens a detail, gets a clear zero-hit answer; and the same catalog over the HTTP API and
the mobile pages."""
import re

import pytest
import requests

from conftest import MARC, Server, WeChat, message


@pytest.fixture(scope="module")
def catalog_server(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("catalog"), import_files=[MARC / "lc-books2016-zh-4000.mrc", MARC / "lc-books2016-en-4000.mrc", MARC / "pymarc-testunimarc.mrc"])
    yield s
    s.stop()


class Reader:
    def __init__(self, server, openid):
        self.wx = WeChat(server.url)
        self.openid = openid

    def click(self, key):
        return self.wx.open(self.wx.post(*self.wx.seal(message("event", f"<Event><![CDATA[CLICK]]></Event><EventKey><![CDATA[{key}]]></EventKey>", openid=self.openid))))["Content"]

    def say(self, text):
        reply = self.wx.open(self.wx.post(*self.wx.seal(message("text", f"<Content><![CDATA[{text}]]></Content>", openid=self.openid))))
        assert reply["MsgType"] == "text", reply
        return reply["Content"]


def test_import_reports_what_it_did(catalog_server):
    out = catalog_server.import_output
    assert re.search(r"total: read 8001, added 8001, updated 0, deleted 0, skipped 0", out), out


def test_title_search_page_detail_and_exit(catalog_server):
    r = Reader(catalog_server, "oTitleReader000000000000001")
    assert "题名" in r.click("SEARCH_TITLE")
    listing = r.say("明代政治制度")
    assert "题名检索结果" in listing
    first = listing.split("\n1. ", 1)[1].split("\n")[0]
    assert "明代政治制度" in first, listing
    detail = r.say("1")
    assert "《明代政治制度" in detail and "/opac/record/00049916" in detail, detail
    assert "ISBN：9789571117843" in detail
    assert "退出" in r.say("退出")


def test_author_search_in_the_other_script(catalog_server):
    r = Reader(catalog_server, "oAuthorReader00000000000001")
    r.click("SEARCH_AUTHOR")
    listing = r.say("张治安")  # the record spells it 張治安
    assert "明代政治制度" in listing, listing


def test_english_author_subject_and_paging(catalog_server):
    r = Reader(catalog_server, "oEnglishReader0000000000001")
    r.click("SEARCH_AUTHOR")
    assert "psoriasis" in r.say("Cram, David").lower()
    r.click("SEARCH_SUBJECT")
    listing = r.say("psoriasis")
    assert "Coping with psoriasis" in listing
    r.click("SEARCH_ANY")
    listing = r.say("history")
    total = int(re.search(r"共 (\d+) 条", listing).group(1))
    assert total > 5
    page2 = r.say("下一页")
    assert "第 2/" in page2 and page2 != listing


def test_plain_text_searches_any_word(catalog_server):
    r = Reader(catalog_server, "oPlainReader000000000000001")
    listing = r.say("Albert Einstein")
    assert "Albert Einstein" in listing.split("\n1. ", 1)[1].split("\n")[0]


def test_zero_hits_say_so_and_offer_broader_search_and_purchase(catalog_server):
    r = Reader(catalog_server, "oZeroReader0000000000000001")
    r.click("SEARCH_TITLE")
    answer = r.say("zzqxv nonexistent")
    assert "没有找到" in answer and "任意词" in answer and "/opac/suggest?title=zzqxv" in answer


def test_search_api(catalog_server):
    base = catalog_server.url
    j = requests.get(base + "/api/v1/search", params={"q": "psoriasis", "field": "title"}).json()
    assert j["total"] >= 1 and "psoriasis" in j["hits"][0]["title"].lower()
    hit = j["hits"][0]
    assert set(hit) >= {"id", "title", "authors", "year", "call_number", "availability"}
    rec = requests.get(base + f"/api/v1/records/{hit['id']}").json()
    assert rec["id"] == hit["id"] and rec["bib"]["isbn13"]
    newest = requests.get(base + "/api/v1/search", params={"q": "history", "sort": "newest", "page_size": 20}).json()
    years = [h["year"] or 0 for h in newest["hits"]]
    assert years == sorted(years, reverse=True)
    assert requests.get(base + "/api/v1/search", params={"q": "x", "field": "nope"}).status_code == 400
    assert requests.get(base + "/api/v1/search").status_code == 400
    assert requests.get(base + "/api/v1/records/nope").status_code == 404


def test_mobile_pages(catalog_server):
    base = catalog_server.url
    page = requests.get(base + "/opac/record/00049916")
    assert page.status_code == 200 and "明代政治制度" in page.text
    page = requests.get(base + "/opac/search", params={"q": "明代政治制度", "field": "title"})
    assert "/opac/record/00049916" in page.text
    ok = requests.post(base + "/opac/suggest", data={"title": "三体", "author": "刘慈欣"})
    assert ok.status_code == 200 and "已收到" in ok.text
    bad = requests.post(base + "/opac/suggest", data={"title": ""})
    assert bad.status_code == 400
