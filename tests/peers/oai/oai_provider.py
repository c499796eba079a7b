"""An OAI-PMH 2.0 data provider over MARC files, for harvesting tests and the harvest benchmark.

The protocol is served by pyoai (PyPI `pyoai`, infrae's `oaipmh` package: request parsing,
argument validation, resumption tokens, deleted headers, every OAI-PMH error); what is ours is the
small data interface below (records in memory, keyed by their MARC 001) and fault injection at
the HTTP layer, the way a test needs it:

- `update(id)`, `delete(id)`, `add(record)` change the repository as a librarian's edits would,
  each stamping the record with the current time (deleted records stay, `status="deleted"`:
  the repository's deletedRecord policy is `persistent`);
- `fail_next(n, status=503, retry_after=1)` answers the next n requests with that HTTP status;
- `expire_tokens()` makes every resumption token issued so far unusable: a request that carries
  one is handed to pyoai with a token it cannot decode, so pyoai answers `badResumptionToken`
  (pyoai's tokens are the list's arguments and cursor, so a list started again issues the same
  strings: one issued again after the expiry is a new token and works);
- `break_record(id)` damages that record's XML in the bytes sent (an unescaped `&` and a wrongly
  closed tag), as a provider with bad data does;
- `delay` (seconds) slows every ListRecords answer, so a test can stop a harvester mid-list;
- `requests` lists the query of every request received, `request_times` when each came.

Run on its own (the benchmark): `python oai_provider.py --port 8399 --page-size 500 FILE.mrc...`
"""
from __future__ import annotations

import argparse
import datetime as dt
import http.server
import io
import threading
import time
import urllib.parse

import cgi

import pymarc
from lxml import etree
from oaipmh import common, error, metadata, server

# pyoai 2.5.0 (its latest release) decodes resumption tokens with `cgi.parse_qs`, an alias Python
# 3.8 removed; urllib.parse.parse_qs is the same function. Restored here, nothing else is changed.
if not hasattr(cgi, "parse_qs"):
    cgi.parse_qs = urllib.parse.parse_qs

MARC_NS = "http://www.loc.gov/MARC21/slim"
BROKEN_MARK = "wxlib-test-broken-record"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0, tzinfo=None)


class _Entry:
    __slots__ = ("record_id", "xml", "datestamp", "deleted", "sets")

    def __init__(self, record_id: str, xml: bytes | None, datestamp: dt.datetime, sets: list[str]):
        self.record_id = record_id
        self.xml = xml
        self.datestamp = datestamp
        self.deleted = False
        self.sets = sets


# C0 controls XML 1.0 forbids (all but tab, LF, CR): some real records carry them (one of the 250,000
# LC records has a stray 0x1F in a subfield), pymarc writes them as they are and lxml then refuses
# the page; a provider must send well-formed XML, so they are dropped.
_FORBIDDEN = bytes.maketrans(b"", b"")
_FORBIDDEN_C0 = bytes(b for b in range(32) if b not in (9, 10, 13))


def marcxml(record: pymarc.Record) -> bytes:
    return pymarc.record_to_xml(record, namespace=True).translate(_FORBIDDEN, _FORBIDDEN_C0)


class Repository:
    """The data interface pyoai's BatchingServer asks (IBatchingOAIPMH)."""

    def __init__(self, base_url: str, granularity: str = "YYYY-MM-DDThh:mm:ssZ"):
        self.base_url = base_url
        self.granularity = granularity
        self.lock = threading.Lock()
        self.entries: dict[str, _Entry] = {}
        self.identifier_prefix = "oai:wxlib-test:"
        # pyoai asks for the whole selection again for every page: the sorted selection is kept
        # until the repository changes (every change goes through put/put_raw/delete/touch).
        self._version = 0
        self._cache: tuple | None = None

    # -- what tests and the CLI change
    def load(self, paths: list[str], stamp: dt.datetime | None = None) -> int:
        stamp = stamp or _now()
        n = 0
        for path in paths:
            with open(path, "rb") as f:
                for record in pymarc.MARCReader(f, to_unicode=True, force_utf8=True, utf8_handling="replace"):
                    if record is None or not record.get_fields("001"):
                        continue
                    self.put(record, stamp)
                    n += 1
        return n

    def put(self, record: pymarc.Record, stamp: dt.datetime | None = None, raw_xml: bytes | None = None):
        record_id = record["001"].data.strip()
        sets = ["zh"] if any(f.tag == "880" for f in record.get_fields()) else ["other"]
        with self.lock:
            self.entries[record_id] = _Entry(record_id, raw_xml or marcxml(record), stamp or _now(), sets)
            self._version += 1

    def put_raw(self, record_id: str, xml: bytes, stamp: dt.datetime | None = None):
        """A record whose metadata is any XML (a record without 001, not MARC at all…)."""
        with self.lock:
            self.entries[record_id] = _Entry(record_id, xml, stamp or _now(), ["other"])
            self._version += 1

    def delete(self, record_id: str, stamp: dt.datetime | None = None):
        with self.lock:
            e = self.entries[record_id]
            e.deleted, e.xml, e.datestamp = True, None, stamp or _now()
            self._version += 1

    def touch(self, record_id: str, stamp: dt.datetime | None = None):
        with self.lock:
            self.entries[record_id].datestamp = stamp or _now()
            self._version += 1

    def identifier(self, record_id: str) -> str:
        return self.identifier_prefix + record_id

    # -- IBatchingOAIPMH
    def identify(self):
        return common.Identify(
            repositoryName="wxlib test library",
            baseURL=self.base_url,
            protocolVersion="2.0",
            adminEmails=["oai@library.example.edu"],
            earliestDatestamp=dt.datetime(1990, 1, 1),
            deletedRecord="persistent",
            granularity=self.granularity,
            compression=["identity"],
        )

    def listMetadataFormats(self, identifier=None):
        return [("marc21", "http://www.loc.gov/standards/marcxml/schema/MARC21slim.xsd", MARC_NS)]

    def listSets(self, cursor=0, batch_size=10):
        return [("zh", "Chinese-language records", None), ("other", "Other records", None)][cursor : cursor + batch_size]

    def _selected(self, metadataPrefix, set=None, from_=None, until=None):
        if metadataPrefix != "marc21":
            raise error.CannotDisseminateFormatError(f"unknown metadataPrefix {metadataPrefix}")
        key = (self._version, set, from_, until)
        cached = self._cache
        if cached is not None and cached[0] == key:
            return cached[1]
        with self.lock:
            chosen = [
                e
                for e in self.entries.values()
                if (from_ is None or e.datestamp >= from_) and (until is None or e.datestamp <= until) and (not set or set in e.sets)
            ]
        # Oldest change first, as Koha and most providers list them.
        chosen.sort(key=lambda e: (e.datestamp, e.record_id))
        self._cache = (key, chosen)
        return chosen

    def _header(self, e: _Entry):
        return common.Header(None, self.identifier(e.record_id), e.datestamp, e.sets, e.deleted)

    def listIdentifiers(self, metadataPrefix, set=None, from_=None, until=None, cursor=0, batch_size=10):
        return [self._header(e) for e in self._selected(metadataPrefix, set, from_, until)[cursor : cursor + batch_size]]

    def listRecords(self, metadataPrefix, set=None, from_=None, until=None, cursor=0, batch_size=10):
        page = self._selected(metadataPrefix, set, from_, until)[cursor : cursor + batch_size]
        return [(self._header(e), e, None) for e in page]

    def getRecord(self, metadataPrefix, identifier):
        record_id = identifier[len(self.identifier_prefix) :]
        with self.lock:
            e = self.entries.get(record_id)
        if e is None or not identifier.startswith(self.identifier_prefix):
            raise error.IdDoesNotExistError(identifier)
        return self._header(e), e, None


def _write_marc21(element, entry: _Entry):
    element.append(etree.fromstring(entry.xml))


class Provider:
    """The repository behind pyoai's server, on an HTTP port of its own (a thread)."""

    def __init__(self, page_size: int = 10, granularity: str = "YYYY-MM-DDThh:mm:ssZ", host: str = "127.0.0.1", port: int = 0):
        self.page_size = page_size
        self.repo = Repository("", granularity)
        registry = metadata.MetadataRegistry()
        registry.registerWriter("marc21", _write_marc21)
        self._server = server.BatchingServer(self.repo, metadata_registry=registry, resumption_batch_size=page_size)
        self._lock = threading.Lock()
        self._fail: list[tuple[int, int | None]] = []
        self._expired: set[str] = set()
        self._issued: set[str] = set()
        self._broken: set[str] = set()
        self.requests: list[dict[str, str]] = []
        self.request_times: list[float] = []
        self.delay = 0.0
        provider = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
                status, headers, body = provider.answer(query)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://{host}:{self.httpd.server_address[1]}/oai"
        self.repo.base_url = self.url
        self._thread: threading.Thread | None = None

    # -- fault injection
    def fail_next(self, n: int, status: int = 503, retry_after: int | None = 1):
        with self._lock:
            self._fail.extend([(status, retry_after)] * n)

    def expire_tokens(self):
        with self._lock:
            self._expired |= self._issued
            self._issued.clear()

    def break_record(self, record_id: str):
        with self._lock:
            self._broken.add(self.repo.identifier(record_id))

    # -- HTTP
    def answer(self, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            self.requests.append(dict(query))
            self.request_times.append(time.monotonic())
            failure = self._fail.pop(0) if self._fail else None
            token = query.get("resumptionToken")
            if token is not None and token in self._expired:
                query = dict(query, resumptionToken="expired")
            broken = set(self._broken)
        if failure is not None:
            status, retry_after = failure
            headers = {"Content-Type": "text/plain"}
            if retry_after is not None:
                headers["Retry-After"] = str(retry_after)
            return status, headers, b"unavailable, try later\n"
        if self.delay and query.get("verb") == "ListRecords":
            time.sleep(self.delay)
        body = self._server.handleRequest(query)
        if broken:
            body = self._damage(body, broken)
        token = _token_of(body)
        if token:
            with self._lock:
                self._issued.add(token)
                self._expired.discard(token)
        return 200, {"Content-Type": "text/xml; charset=utf-8"}, body

    @staticmethod
    def _damage(body: bytes, identifiers: set[str]) -> bytes:
        for ident in identifiers:
            at = body.find(f"<identifier>{ident}</identifier>".encode())
            if at < 0:
                continue
            sub = body.find(b"<subfield", at)
            end = body.find(b"</record>", at)
            if 0 <= sub < end:
                body = body[:sub] + b"<subfield code=\"a\">Tom & Jerry</subfeld>" + body[sub:]
        return body

    def start(self) -> "Provider":
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def _token_of(body: bytes) -> str | None:
    try:
        root = etree.parse(io.BytesIO(body)).getroot()
    except etree.XMLSyntaxError:
        return None
    t = root.find(".//{http://www.openarchives.org/OAI/2.0/}resumptionToken")
    return t.text if t is not None and t.text else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="+")
    ap.add_argument("--port", type=int, default=8399)
    ap.add_argument("--page-size", type=int, default=500)
    args = ap.parse_args()
    p = Provider(page_size=args.page_size, port=args.port)
    n = p.repo.load(args.files)
    print(f"serving {n} records at {p.url}", flush=True)
    p.httpd.serve_forever()


if __name__ == "__main__":
    main()
