"""Fuzzing every route through the real ASGI app, on SQLite and PostgreSQL.

Requests come from two sources: schemathesis, from the app's own OpenAPI document (valid and invalid
parameters and bodies for each operation, sent with a key of a role the route admits, path ids now and
then replaced by real ones of the caller or of others), and hypothesis strategies for what the document
cannot describe (malformed JSON, wrong content types, broken NDJSON lines, oversized bodies, odd cursors
and dates). Every answer must be below 500; every error a JSON body with a ``detail`` sentence (and
``errors`` items naming index, field and reason on 422) and no traceback; nothing a hoster (or anyone
without a key) gets back may hold a list hash, an item or a distance; and a refused request writes
nothing: no notice, no notice event, no audit record of a step that did not happen.
"""

import asyncio
import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import numpy as np
import pytest
import schemathesis
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from sqlalchemy import func, select
from starlette.types import Message, Receive, Scope, Send

from api.limits import BodyLimit
from api.schemas import MAX_TEXT
from db import make_engine, make_session_factory, upgrade
from db.models import AuditRecord, Notice, NoticeEvent, Webhook
from tests.api.support import ListedHash, ListSpec, World, flip, open_world, random_hex
from tests.api.test_access import EXPECTED, PUBLIC
from tests.postgres import PostgresServer, PostgresUnavailable, new_database

schemathesis.serializer.alias("application/x-ndjson", "text/plain")

MAX_BODY = 64 * 1024
MAX_ITEMS = 40
ROLE_OF = {
    "hoster": "hoster",
    "hoster2": "hoster",
    "hotline": "hotline",
    "hotline2": "hotline",
    "authority": "authority",
    "admin": "admin",
}
HOSTER_NEVER_SEES = frozenset({"matches", "distance", "entry", "entry_id", "item", "value", "hotline_id"})
TRACEBACK_MARKS = ("Traceback (most recent call last)", 'File "/', "sqlalchemy.exc", "psycopg.")
FUZZ = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)


@dataclass
class Fuzzed:
    """A world on one database with notices of two hosters and webhooks of a hoster and a hotline."""

    world: World
    schema: Any
    notices: list[str]
    webhooks: list[int]
    secrets: frozenset[str]

    def counts(self) -> tuple[int, int, int]:
        """Notices, notice events and the last audit record's id now in the database."""
        self.world.flush_audit()
        with make_session_factory(self.world.engine)() as session:
            return (
                session.scalar(select(func.count()).select_from(Notice)) or 0,
                session.scalar(select(func.count()).select_from(NoticeEvent)) or 0,
                session.scalar(select(func.max(AuditRecord.id))) or 0,
            )

    def nothing_written_since(self, before: tuple[int, int, int], answer: httpx.Response) -> None:
        """A refused request added no notice and no event, and audited nothing but the refusal itself
        (a match call with invalid items is recorded with their count, and no notice)."""
        assert self.counts()[:2] == before[:2], answer.text
        with make_session_factory(self.world.engine)() as session:
            added = session.scalars(select(AuditRecord).where(AuditRecord.id > before[2])).all()
            for record in added:
                honest = record.action == "match" and record.detail.get("refused", 0) > 0
                assert honest, f"{answer.status_code} {answer.text}: audited {record.action} {record.detail}"
                assert "notices_created" not in record.detail, answer.text


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fuzzed(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    postgres: PostgresServer | PostgresUnavailable,
) -> Iterator[Fuzzed]:
    directory: Path = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    url = new_database(request.param, directory, postgres)
    engine = make_engine(url)
    upgrade(engine)
    limits = {
        "rate_burst_hashes": 10**9,
        "max_body_bytes": MAX_BODY,
        "max_items": MAX_ITEMS,
        "audit_interval_seconds": 3600,  # only Fuzzed.counts() writes queued records: none in flight
    }
    # The notices the fuzzer may step through rest on entries of a list of their own: a fuzzed withdraw
    # with "retract": true retracts them, and the sample lists' entries must keep matching.
    rng = np.random.default_rng(11)
    pool = {f"pool.{name}": random_hex(rng, name) for name in ("md5", "sha1", "pdq")}
    pool_list = ListSpec(
        "EOKM", "fuzz-pool", [ListedHash(name.split(".")[1], value, name) for name, value in pool.items()]
    )
    try:
        with open_world(engine, url, directory, [pool_list], **limits) as world:
            h = world.hashes
            mine = world.match(
                "hoster",
                [
                    {"type": "md5", "hash": pool["pool.md5"], "ref": "a.jpg"},
                    {"type": "sha1", "hash": pool["pool.sha1"], "ref": "b.jpg"},
                    {"type": "pdq", "hash": flip(pool["pool.pdq"], 2), "ref": "c.jpg"},
                ],
            ).json()["results"]
            theirs = world.match("hoster2", [{"type": "md5", "hash": pool["pool.md5"], "ref": "a.jpg"}])
            notices = [r["notice_id"] for r in mine + theirs.json()["results"]]
            hooks = [
                world.client.post(
                    "/v1/webhooks", json={"url": "https://hooks.example/h"}, headers=world.auth(who)
                ).json()["id"]
                for who in ("hoster", "hotline")
            ]
            schema = schemathesis.openapi.from_dict(world.client.get("/openapi.json").json())
            listed = {**h, **pool}.values()
            yield Fuzzed(world, schema, notices, hooks, frozenset(v.lower() for v in listed))
    finally:
        engine.dispose()


def callers(method: str, path: str) -> list[str | None]:
    allowed = EXPECTED[(method, path)]
    if allowed == PUBLIC:
        return [None, "hoster"]
    return [who for who, role in ROLE_OF.items() if role in allowed]


def headers_of(fuzzed: Fuzzed, who: str | None) -> dict[str, str]:
    return {} if who is None else fuzzed.world.auth(who)


def check(fuzzed: Fuzzed, answer: httpx.Response, who: str | None, sent: str) -> None:
    """The properties every answer has, whatever was sent."""
    text = answer.text
    where = f"{answer.request.method} {answer.request.url} -> {answer.status_code}: {text[:500]}"
    assert answer.status_code < 500, where
    assert not any(mark in text for mark in TRACEBACK_MARKS), where
    if answer.status_code >= 400:
        assert answer.headers["content-type"] == "application/json", where
        body = answer.json()
        assert isinstance(body, dict), where
        assert set(body) <= {"detail", "errors"}, where
        assert isinstance(body["detail"], str), where
        assert body["detail"], where
        if answer.status_code == 422:
            assert body.get("errors"), where
            for error in body["errors"]:
                assert set(error) == {"index", "field", "reason"}, where
                assert error["index"] is None or isinstance(error["index"], int), where
                assert isinstance(error["field"], str), where  # "" names an unknown key ""
                assert isinstance(error["reason"], str), where
                assert error["reason"], where
    if who is None or ROLE_OF[who] == "hoster":
        _no_list_data(fuzzed, answer, sent.lower(), where)


def _no_list_data(fuzzed: Fuzzed, answer: httpx.Response, sent: str, where: str) -> None:
    shown = answer.text.lower()
    leaked = [value for value in fuzzed.secrets if value in shown and value not in sent]
    assert not leaked, f"a list hash reached a hoster: {where}"
    kind = answer.headers.get("content-type", "")
    if kind.startswith("application/json"):
        _no_list_fields(answer.json(), where)
    elif kind.startswith("application/x-ndjson"):
        for line in answer.text.splitlines():
            _no_list_fields(json.loads(line), where)


def _no_list_fields(value: object, where: str) -> None:
    if isinstance(value, dict):
        assert not HOSTER_NEVER_SEES & set(value), f"list fields reached a hoster: {where}"
        for inner in value.values():
            _no_list_fields(inner, where)
    elif isinstance(value, list):
        for inner in value:
            _no_list_fields(inner, where)


def send_case(fuzzed: Fuzzed, case: Any, who: str | None) -> None:
    """Send a schemathesis case through the world's client (its app is running) with ``who``'s key."""
    sent = case.as_transport_kwargs(base_url="http://testserver", headers=headers_of(fuzzed, who))
    content: bytes | None = None
    if "json" in sent:
        content = json.dumps(sent["json"]).encode()
    elif "data" in sent:
        data = sent["data"]
        content = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
    answer = fuzzed.world.client.request(
        sent["method"], sent["url"], headers=sent["headers"], params=sent["params"], content=content
    )
    check(fuzzed, answer, who, repr(sent))


# --- every operation of the OpenAPI document ------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), sorted(EXPECTED), ids=[f"{m} {p}" for m, p in sorted(EXPECTED)])
def test_every_operation_answers_in_shape_whatever_the_schema_allows_or_forbids(
    fuzzed: Fuzzed, method: str, path: str
) -> None:
    operation = fuzzed.schema[path][method.lower()]
    cases = st.one_of(operation.as_strategy(), operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))
    ids: dict[str, st.SearchStrategy[Any]] = {
        "notice_id": st.sampled_from(fuzzed.notices),
        "webhook_id": st.sampled_from(fuzzed.webhooks),
    }

    @FUZZ
    @given(case=cases, who=st.sampled_from(callers(method, path)), data=st.data())
    def run(case: Any, who: str | None, data: st.DataObject) -> None:
        for name, real in ids.items():
            if case.path_parameters and name in case.path_parameters and data.draw(st.booleans()):
                case.path_parameters[name] = data.draw(real)
        send_case(fuzzed, case, who)

    run()


# --- what the document cannot describe ------------------------------------------------------------

ODD_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", " ", "\x00", "a\x00b", "é" * 3000, "💥", "\u202e", "../../etc", "%00"]),
)
HUGE = st.sampled_from([-1, 0, 2**31, 2**63 - 1, 2**63, 10**30, -(10**30)])
NESTED = b"[" * 30_000 + b"]" * 30_000  # within MAX_BODY, far deeper than Python's recursion limit
ODD_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | HUGE | st.floats() | ODD_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ODD_TEXT, inner, max_size=4),
    max_leaves=12,
)


def valid_items(hashes: dict[str, str]) -> st.SearchStrategy[dict[str, object]]:
    """A good item, often matching a listed hash (exactly or within a few bits), on a few refs."""

    def item(listed: str, bits: int, upper: bool, ref: str) -> dict[str, object]:
        value = flip(hashes[listed], bits) if bits else hashes[listed]
        return {"type": listed.rsplit(".", 1)[1], "hash": value.upper() if upper else value, "ref": ref}

    refs = st.one_of(st.sampled_from(["a.jpg", "z.jpg", "s3://b/k"]), st.text(min_size=1, max_size=30))
    return st.builds(item, st.sampled_from(sorted(hashes)), st.integers(0, 40), st.booleans(), refs)


@st.composite
def broken_items(draw: st.DrawFn, hashes: dict[str, str]) -> object:
    """An item wrong in one or several ways: type, hash, ref, a field missing or one too many."""
    item: dict[str, object] = dict(draw(valid_items(hashes)))
    wrong = draw(st.sets(st.sampled_from(["type", "hash", "ref"]), min_size=1))
    for name in wrong:
        item[name] = draw(st.one_of(ODD_TEXT, ODD_JSON, st.text("0123456789abcdefABCDEFg \x00", max_size=70)))
    for name in draw(st.sets(st.sampled_from(["type", "hash", "ref"]), max_size=1)):
        del item[name]
    if draw(st.booleans()):
        item[draw(ODD_TEXT)] = draw(ODD_JSON)
    return draw(st.one_of(st.just(item), ODD_JSON))


def match_items(hashes: dict[str, str]) -> st.SearchStrategy[object]:
    return st.one_of(valid_items(hashes), valid_items(hashes), broken_items(hashes))


def match_bodies(hashes: dict[str, str]) -> st.SearchStrategy[bytes]:
    thresholds = st.one_of(
        st.none(),
        st.dictionaries(st.sampled_from(["pdq", "phash", "md5"]), st.integers(0, 40)),
        st.dictionaries(st.sampled_from(["pdq", "md5", "phash", "x", ""]), ODD_JSON),
        ODD_JSON,
    )
    documents = st.builds(
        lambda items, limits, extra: {"items": items, **({"thresholds": limits} if limits else {}), **extra},
        st.one_of(
            st.lists(valid_items(hashes), min_size=1, max_size=6), st.lists(match_items(hashes), max_size=8)
        ),
        thresholds,
        st.one_of(st.just({}), st.dictionaries(ODD_TEXT, ODD_JSON, max_size=1)),
    )
    as_json = st.builds(lambda value: json.dumps(value).encode(), st.one_of(documents, documents, ODD_JSON))
    return st.one_of(
        as_json,
        as_json,
        as_json,
        st.binary(max_size=200),
        st.sampled_from(
            [
                b"",
                b"{",
                b'{"items": [',
                NESTED,
                b'{"items": ' + b"[" * 5000 + b"]" * 5000 + b"}",
                b'{"items": [{"type": "md5", "hash": "' + b"0" * 32 + b'", "ref": "\xff\xfe"}]}',
                b'{"items": [{"type": "md5", "hash": "' + b"0" * 32 + b'", "ref": "\\ud800"}]}',
                b'{"items": NaN}',
                b'{"items": [{"type": "md5", "hash": "\\ud800", "ref": "r", "\\udfff": 1}], "\\udbff": 1}',
                b'{"items": [{"type": "md5", "hash": "00", "ref": "r"}], "thresholds": {"\\ud800": 1}}',
                b'{"items": [], "items": 1e999}',
                b"\xef\xbb\xbf{}",
                b"\x89PNG\r\n\x1a\n" + b"0" * 20,
                json.dumps(
                    {"items": [{"type": "md5", "hash": "00" * 16, "ref": "r"}] * (MAX_ITEMS + 1)}
                ).encode(),
                b'{"items": [' + b" " * MAX_BODY + b"]}",
            ]
        ),
    )


CONTENT_TYPES = st.sampled_from(
    [
        "application/json; charset=utf-8",
        "APPLICATION/JSON",
        "",
        "text/plain",
        "application/x-ndjson",
        "image/png",
        "multipart/form-data; boundary=x",
        "application/octet-stream",
        "application/json; charset=latin-1\x00",
    ]
)
JSON_MOSTLY = st.one_of(st.just("application/json"), CONTENT_TYPES)


def test_match_answers_every_body_and_content_type_in_shape_and_refusals_write_no_notice(
    fuzzed: Fuzzed,
) -> None:
    matched: list[bool] = []

    @FUZZ
    @given(
        body=match_bodies(fuzzed.world.hashes),
        kind=JSON_MOSTLY,
        who=st.sampled_from(callers("POST", "/v1/match")),
    )
    def run(body: bytes, kind: str, who: str) -> None:
        before = fuzzed.counts()
        headers = {**headers_of(fuzzed, who), "Content-Type": kind} if kind else headers_of(fuzzed, who)
        answer = fuzzed.world.client.post("/v1/match", content=body, headers=headers)
        check(fuzzed, answer, who, body.decode("utf-8", "replace"))
        if answer.status_code != 200:
            fuzzed.nothing_written_since(before, answer)
        elif ROLE_OF[who] == "hoster":
            matched.extend(result["matched"] for result in answer.json()["results"])

    run()
    assert any(matched), "no hoster's batch matched: the strategies no longer reach the interesting answers"


def stream_lines(hashes: dict[str, str]) -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.builds(lambda item: json.dumps(item).encode(), match_items(hashes)),
        st.binary(max_size=60).filter(lambda raw: b"\n" not in raw),
        st.sampled_from(
            [
                b"",
                b" ",
                b"\r",
                b"{",
                b"\x00",
                b"\xff\xfe",
                b"[]",
                b"null",
                b"x" * 17_000,
                b"\t{}",
                NESTED[:16_000],
            ]
        ),
    )


def test_a_stream_of_broken_lines_answers_every_line_and_counts_last(fuzzed: Fuzzed) -> None:
    matched: list[bool] = []

    @FUZZ
    @given(
        lines=st.lists(stream_lines(fuzzed.world.hashes), max_size=12),
        ending=st.sampled_from([b"\n", b"\r\n", b""]),
        thresholds=st.one_of(
            st.none(), st.none(), ODD_TEXT, st.just("pdq:31,phash:6"), st.just("pdq:99999999999")
        ),
        kind=st.sampled_from(
            ["application/x-ndjson", "application/x-ndjson", "application/jsonl", "text/plain", ""]
        ),
        who=st.sampled_from(callers("POST", "/v1/match/stream")),
    )
    def run(lines: list[bytes], ending: bytes, thresholds: str | None, kind: str, who: str) -> None:
        body = ending.join(lines)
        headers = {**headers_of(fuzzed, who), "Content-Type": kind} if kind else headers_of(fuzzed, who)
        params = {} if thresholds is None else {"thresholds": thresholds}
        answer = fuzzed.world.client.post("/v1/match/stream", content=body, headers=headers, params=params)
        check(fuzzed, answer, who, body.decode("utf-8", "replace"))
        if answer.status_code == 200:
            shown = [json.loads(line) for line in answer.text.splitlines()]
            assert set(shown[-1]) == {"counts", "index_version"}
            errors = [line for line in shown if "line" in line]
            assert shown[-1]["counts"]["refused"] == len(errors)
            for error in errors:
                assert set(error) == {"line", "field", "reason"}
                assert 1 <= error["line"] <= len(lines)
            if ROLE_OF[who] == "hoster":
                matched.extend(bool(line.get("matched")) for line in shown)

    run()
    assert any(matched), "no hoster's stream matched: the strategies no longer reach the interesting answers"


def _cursor(number: object) -> str:
    return base64.urlsafe_b64encode(f"notice:{number}".encode()).decode()


DATES = st.one_of(
    st.datetimes(
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=14)), timezone(timedelta(hours=-12))])
    ).map(datetime.isoformat),
    st.datetimes().map(datetime.isoformat),
    st.sampled_from(
        [
            "0001-01-01T00:00:00+14:00",
            "9999-12-31T23:59:59-12:00",
            "2026-11-23",
            "2026-11-23T09:00:00Z",
            "2026-13-45T99:00:00Z",
            "now",
            "",
            "1e9",
            "-1",
        ]
    ),
)
QUERIES: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "/v1/notices": {
        "status": st.lists(st.one_of(st.sampled_from(["open", "removed", "overdue"]), ODD_TEXT), max_size=3),
        "hoster_id": st.one_of(HUGE, ODD_TEXT),
        "list_id": st.one_of(HUGE, ODD_TEXT),
        "created_from": DATES,
        "created_to": DATES,
        "overdue": st.one_of(st.sampled_from(["true", "false", "1", "yes"]), ODD_TEXT),
        "binding_order": st.one_of(st.sampled_from(["true", "false"]), ODD_TEXT),
        "cursor": st.one_of(ODD_TEXT, st.builds(_cursor, st.one_of(HUGE, ODD_TEXT))),
        "limit": st.one_of(HUGE, st.integers(-5, 600), ODD_TEXT),
    },
    "/v1/audit": {
        "after": st.one_of(HUGE, ODD_TEXT),
        "limit": st.one_of(HUGE, st.integers(-5, 1100), ODD_TEXT),
        "action": st.one_of(st.sampled_from(["match", "notice.disputed"]), ODD_TEXT),
    },
    "/v1/reports/compliance": {
        "from": DATES,
        "to": DATES,
        "start": DATES,
        "end": DATES,
        "group_by": st.one_of(st.sampled_from(["hoster", "list", "total"]), ODD_TEXT),
    },
    "/v1/reports/compliance.csv": {
        "from": DATES,
        "to": DATES,
        "start": DATES,
        "end": DATES,
        "group_by": ODD_TEXT,
    },
    "/v1/notices/{notice_id}": {},
    "/v1/webhooks/{webhook_id}/deliveries": {},
}


URL_LIMIT = 60_000
"""Query strings httpx sends (it refuses more than 65,536 characters a component: several 3,000-letter
values, percent-encoded, came to that)."""


@pytest.mark.parametrize("path", sorted(QUERIES))
def test_odd_query_parameters_and_path_ids_are_refused_in_shape(fuzzed: Fuzzed, path: str) -> None:
    notice_ids = st.one_of(st.sampled_from(fuzzed.notices), ODD_TEXT.filter(lambda t: "/" not in t and t))
    webhook_ids = st.one_of(
        st.sampled_from(fuzzed.webhooks), HUGE.map(str), ODD_TEXT.filter(lambda t: "/" not in t and t)
    )

    @FUZZ
    @given(
        params=st.fixed_dictionaries({}, optional=QUERIES[path]),
        notice=notice_ids,
        webhook=webhook_ids,
        who=st.sampled_from(callers("GET", path)),
    )
    def run(params: dict[str, Any], notice: str, webhook: str, who: str) -> None:
        url = path.replace("{notice_id}", _quote(notice)).replace("{webhook_id}", _quote(str(webhook)))
        assume(len(urlencode(params)) < URL_LIMIT)  # longer: the client refuses it, the app never sees it
        answer = fuzzed.world.client.get(url, params=params, headers=headers_of(fuzzed, who))
        check(fuzzed, answer, who, repr(params))

    run()


def _quote(text: str) -> str:
    return quote(text, safe="")


STEP_BODIES: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "removed": st.fixed_dictionaries(
        {}, optional={"removed_at": st.one_of(DATES, ODD_JSON), "note": st.one_of(ODD_TEXT, ODD_JSON)}
    ),
    "dispute": st.fixed_dictionaries({}, optional={"reason": st.one_of(ODD_TEXT, ODD_JSON)}),
    "resolve": st.fixed_dictionaries(
        {},
        optional={
            "outcome": st.one_of(st.sampled_from(["upheld", "withdrawn"]), ODD_TEXT),
            "reason": st.one_of(ODD_TEXT, ODD_JSON),
            "retract": st.one_of(st.booleans(), ODD_JSON),
        },
    ),
    "escalate": st.fixed_dictionaries(
        {}, optional={"hours": st.one_of(st.integers(-2, 14), HUGE, ODD_JSON), "reason": ODD_TEXT}
    ),
}


@pytest.mark.parametrize("step", sorted(STEP_BODIES))
def test_notice_steps_refused_write_nothing_and_audit_no_success(fuzzed: Fuzzed, step: str) -> None:
    path = f"/v1/notices/{{notice_id}}/{step}"

    documents = st.builds(
        lambda body, extra: {**body, **extra},
        STEP_BODIES[step],
        st.dictionaries(ODD_TEXT, ODD_JSON, max_size=1),
    )
    bodies = st.one_of(
        documents.map(lambda body: json.dumps(body).encode()),
        documents.map(lambda body: json.dumps(body).encode()),
        ODD_JSON.map(lambda value: json.dumps(value).encode()),
        st.sampled_from(
            [
                b"",
                b"{",
                b'{"reason": "x"',
                NESTED,
                b"\xff\xfe",
                b"null",
                b'{"reason": "\\ud800", "note": "\\udfff", "outcome": "upheld", "hours": 2}',
                b'{"reason": "x", "\\ud800": 1}',
                b'{"reason": "' + b"x" * MAX_BODY + b'"}',
            ]
        ),
    )

    @FUZZ
    @given(
        body=bodies,
        kind=JSON_MOSTLY,
        notice=st.one_of(st.sampled_from(fuzzed.notices), ODD_TEXT.filter(lambda t: "/" not in t and t)),
        who=st.sampled_from(callers("POST", path)),
    )
    def run(body: bytes, kind: str, notice: str, who: str) -> None:
        before = fuzzed.counts()
        headers = {**headers_of(fuzzed, who), "Content-Type": kind} if kind else headers_of(fuzzed, who)
        answer = fuzzed.world.client.post(
            path.replace("{notice_id}", _quote(notice)), content=body, headers=headers
        )
        check(fuzzed, answer, who, body.decode("utf-8", "replace"))
        if answer.status_code != 200:
            fuzzed.nothing_written_since(before, answer)

    run()


def test_webhook_urls_and_ids_are_refused_in_shape_and_write_nothing(fuzzed: Fuzzed) -> None:
    def hooks() -> int:
        with make_session_factory(fuzzed.world.engine)() as session:
            return session.scalar(select(func.count()).select_from(Webhook)) or 0

    @FUZZ
    @given(
        url=st.one_of(
            ODD_TEXT,
            ODD_JSON,
            st.builds(lambda t: f"https://hooks.example/{t}", ODD_TEXT),
            st.just("https://" + "a" * 3000),
            st.just("https://h\x00st/"),
        ),
        who=st.sampled_from(callers("POST", "/v1/webhooks")),
        webhook=st.one_of(st.sampled_from(fuzzed.webhooks), HUGE),
    )
    def run(url: object, who: str, webhook: int) -> None:
        before = hooks()
        headers = {**headers_of(fuzzed, who), "Content-Type": "application/json"}
        answer = fuzzed.world.client.post("/v1/webhooks", content=json.dumps({"url": url}), headers=headers)
        check(fuzzed, answer, who, repr(url))
        assert hooks() == before + (answer.status_code == 201)
        deleted = fuzzed.world.client.delete(f"/v1/webhooks/{webhook}", headers=headers_of(fuzzed, who))
        check(fuzzed, deleted, who, "")

    run()


# --- what the fuzzing found, one regression test each -----------------------------------------------


def refused(answer: httpx.Response, field: str, status: int = 422) -> str:
    """The reason of a refusal naming ``field``."""
    assert answer.status_code == status, answer.text
    fields = {error["field"]: error["reason"] for error in answer.json()["errors"]}
    assert field in fields, answer.text
    reason: str = fields[field]
    return reason


def new_notice(fuzzed: Fuzzed, ref: str) -> str:
    item = {"type": "md5", "hash": fuzzed.world.hashes["img1.md5"], "ref": ref}
    notice: str = fuzzed.world.match("hoster", [item]).json()["results"][0]["notice_id"]
    return notice


def test_ids_beyond_the_database_integers_are_refused_not_crashed(fuzzed: Fuzzed) -> None:
    client, auth = fuzzed.world.client, fuzzed.world.auth
    for too_big in (2**31, 2**63, 10**30):
        assert refused(client.delete(f"/v1/webhooks/{too_big}", headers=auth("hoster")), "webhook_id")
        deliveries = client.get(f"/v1/webhooks/{too_big}/deliveries", headers=auth("hotline"))
        assert refused(deliveries, "webhook_id")
        for name in ("hoster_id", "list_id"):
            assert refused(client.get("/v1/notices", params={name: too_big}, headers=auth("admin")), name)
        for cursor in (_cursor(too_big), _cursor("9" * 5000)):
            listed = client.get("/v1/notices", params={"cursor": cursor}, headers=auth("authority"))
            assert refused(listed, "cursor") == "not a cursor from a previous page"
    assert refused(client.get("/v1/audit", params={"after": 2**63}, headers=auth("admin")), "after")
    assert client.get("/v1/audit", params={"after": 2**63 - 1}, headers=auth("admin")).json()["records"] == []


def test_times_that_do_not_exist_in_utc_are_refused_naming_the_field(fuzzed: Fuzzed) -> None:
    client, auth = fuzzed.world.client, fuzzed.world.auth
    early, late = "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00"
    listed = client.get("/v1/notices", params={"created_from": early}, headers=auth("admin"))
    assert "out of range" in refused(listed, "created_from")
    assert refused(
        client.get("/v1/notices", params={"created_to": late}, headers=auth("admin")), "created_to"
    )
    for path in ("/v1/reports/compliance", "/v1/reports/compliance.csv"):
        report = client.get(
            path, params={"start": "2026-01-01T00:00:00Z", "end": late}, headers=auth("admin")
        )
        assert refused(report, "end")
    notice = new_notice(fuzzed, "times.jpg")
    before = fuzzed.counts()
    removed = client.post(f"/v1/notices/{notice}/removed", json={"removed_at": early}, headers=auth("hoster"))
    assert refused(removed, "removed_at")
    fuzzed.nothing_written_since(before, removed)
    assert client.get(f"/v1/notices/{notice}", headers=auth("hoster")).json()["status"] == "open"


def test_nul_characters_and_lone_surrogates_are_refused_naming_item_and_field(fuzzed: Fuzzed) -> None:
    client, auth, h = fuzzed.world.client, fuzzed.world.auth, fuzzed.world.hashes
    notice = new_notice(fuzzed, "text.jpg")
    before = fuzzed.counts()
    json_body = {**auth("hoster"), "Content-Type": "application/json"}
    for ref in (b'"a\\u0000b"', b'"a\\ud800b"'):
        items = b'[{"type": "md5", "hash": "%s", "ref": "ok.jpg"}, {"type": "sha1", "hash": "%s", "ref": %s}]'
        body = b'{"items": %s}' % (items % (h["img1.md5"].encode(), h["iwf.sha1"].encode(), ref))
        answer = client.post("/v1/match", content=body, headers=json_body)
        assert answer.status_code == 422, answer.text
        assert [(e["index"], e["field"]) for e in answer.json()["errors"]] == [(1, "ref")]
    for step, body in (
        ("dispute", b'{"reason": "stock\\u0000photo"}'),
        ("dispute", b'{"reason": "\\udfff"}'),
        ("removed", b'{"note": "gone\\u0000"}'),
    ):
        answer = client.post(f"/v1/notices/{notice}/{step}", content=body, headers=json_body)
        assert refused(answer, "reason" if step == "dispute" else "note")
    fuzzed.nothing_written_since(before, answer)
    assert client.get(f"/v1/notices/{notice}", headers=auth("hoster")).json()["status"] == "open"
    assert refused(client.get("/v1/notices/ntc_%00", headers=auth("hoster")), "notice_id")
    assert refused(client.get("/v1/audit", params={"action": "match\x00"}, headers=auth("admin")), "action")
    unknown = client.post("/v1/match", content=b'{"items": [], "\\ud800": 1}', headers=json_body)
    assert unknown.json()["errors"][0]["field"] == "\\ud800"  # the name, escaped: never a 500


def test_webhook_urls_a_client_cannot_send_to_are_refused(fuzzed: Fuzzed) -> None:
    for url in ("https://h\x00st/", "http://[::1", "https://hooks.example:99999/", "https://hooks example/",
                "https://hooks.example/\ud800", "ftp://hooks.example/"):  # fmt: skip
        body = json.dumps({"url": url}).encode()
        answer = fuzzed.world.client.post(
            "/v1/webhooks",
            content=body,
            headers={**fuzzed.world.auth("hotline"), "Content-Type": "application/json"},
        )
        assert "https URL" in refused(answer, "url"), url


def test_json_nested_too_deeply_and_huge_threshold_digits_are_refused(fuzzed: Fuzzed) -> None:
    client, auth = fuzzed.world.client, fuzzed.world.auth
    answer = client.post(
        "/v1/match", content=NESTED, headers={**auth("hoster"), "Content-Type": "application/json"}
    )
    assert refused(answer, "body") == "not valid JSON (nested too deeply)"
    ndjson = {**auth("hoster"), "Content-Type": "application/x-ndjson"}
    streamed = client.post("/v1/match/stream", content=NESTED[:16_000] + b"\n", headers=ndjson)
    assert [json.loads(line) for line in streamed.text.splitlines()] == [
        {"line": 1, "field": "line", "reason": "not valid JSON (nested too deeply)"},
        {"counts": {"items": 0, "refs": 0, "matched": 0, "refused": 1}, "index_version": None},
    ]
    as_hotline = {**auth("hotline"), "Content-Type": "application/x-ndjson"}  # thresholds are hotlines'
    for value in ("9" * 5000, "\u00b2", "-1"):
        answer = client.post(
            "/v1/match/stream", params={"thresholds": f"pdq:{value}"}, content=b"", headers=as_hotline
        )
        assert refused(answer, "thresholds.pdq")


def test_a_declared_length_of_other_digits_is_left_to_the_count_and_a_huge_one_refused() -> None:
    sent: list[Message] = []

    async def echo(scope: Scope, receive: Receive, send: Send) -> None:
        body = (await receive())["body"]
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    async def receive() -> Message:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    def status(length: bytes) -> int:
        sent.clear()
        scope = {"type": "http", "method": "POST", "path": "/v1/x", "headers": [(b"content-length", length)]}
        asyncio.run(BodyLimit(echo, 10, ())(scope, receive, send))
        return int(sent[0]["status"])

    for length in (b"\xb2", b"\xd9\xa3", b"2", b"0" * 40 + b"2"):  # "²", Arabic-Indic 3 in latin-1 bytes
        assert status(length) == 200
    assert status(b"9" * 5000) == 413


def test_a_reason_or_note_longer_than_the_history_keeps_is_refused(fuzzed: Fuzzed) -> None:
    notice = new_notice(fuzzed, "long.jpg")
    before = fuzzed.counts()
    for step, body in (
        ("dispute", {"reason": "x" * (MAX_TEXT + 1)}),
        ("removed", {"note": "é" * (MAX_TEXT + 1)}),
    ):
        answer = fuzzed.world.client.post(
            f"/v1/notices/{notice}/{step}", json=body, headers=fuzzed.world.auth("hoster")
        )
        assert refused(answer, next(iter(body)))
        fuzzed.nothing_written_since(before, answer)
    long_enough = fuzzed.world.client.post(
        f"/v1/notices/{notice}/dispute", json={"reason": "x" * MAX_TEXT}, headers=fuzzed.world.auth("hoster")
    )
    assert long_enough.json()["history"][-1]["reason"] == "x" * MAX_TEXT


def test_every_body_but_the_streams_is_held_to_the_body_limit(fuzzed: Fuzzed) -> None:
    notice = new_notice(fuzzed, "big.jpg")
    before = fuzzed.counts()
    body = b'{"reason": "' + b"x" * MAX_BODY + b'"}'
    headers = {**fuzzed.world.auth("hoster"), "Content-Type": "application/json"}
    for path in (f"/v1/notices/{notice}/dispute", "/v1/webhooks"):
        for content in (body, iter([body[:1000], body[1000:]])):  # declared, then only counted
            answer = fuzzed.world.client.post(path, content=content, headers=headers)
            assert answer.status_code == 413, answer.text
            assert answer.json() == {"detail": answer.json()["detail"]}
            assert f"larger than the limit of {MAX_BODY} bytes" in answer.json()["detail"]
    fuzzed.nothing_written_since(before, answer)
    line = json.dumps({"type": "md5", "hash": "00" * 16, "ref": "r"}).encode() + b"\n"
    ndjson = {**fuzzed.world.auth("hoster"), "Content-Type": "application/x-ndjson"}
    streamed = fuzzed.world.client.post(
        "/v1/match/stream", content=line * (MAX_BODY // len(line) + 10), headers=ndjson
    )
    assert streamed.status_code == 200  # a stream is not held to it
