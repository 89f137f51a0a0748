"""Reading the match API's answers: results, error details, Retry-After (no server needed)."""

import re
from contextlib import closing

import httpx
import pytest

from scanner.client import Answer, MatchClient, MatchResult, Retrying, _answer, _detail, _retry_after
from scanner.defaults import MAX_ITEMS
from scanner.errors import ScannerError

URL = "http://127.0.0.1:1/v1/match"


def test_results_one_per_ref() -> None:
    body = {
        "results": [
            {"ref": "a", "matched": True, "confidence": "high", "signals": ["md5", "pdq"], "notice_id": "N1"},
            {"ref": "b", "matched": False, "confidence": None, "signals": [], "notice_id": None},
        ],
        "counts": {"items": 3, "refs": 2, "matched": 1},
        "index_version": "v7",
    }
    results = [
        MatchResult("a", True, "high", ("md5", "pdq"), "N1", None),
        MatchResult("b", False, None, (), None, None),
    ]
    assert _answer(URL, httpx.Response(200, json=body)) == Answer(results, "v7")
    del body["index_version"]  # a server that does not say: every stored file is matched again next time
    assert _answer(URL, httpx.Response(200, json=body)) == Answer(results, None)


@pytest.mark.parametrize("body", [{"results": [{"matched": True}]}, {"counts": {}}, ["results"]])
def test_a_malformed_answer_is_an_error(body: object) -> None:
    with pytest.raises(ScannerError, match=re.escape(f"unexpected answer from {URL}")):
        _answer(URL, httpx.Response(200, json=body))


def test_error_details_name_the_first_bad_item() -> None:
    body = {"detail": "2 items are invalid", "errors": [{"index": 3, "field": "hash", "reason": "not hex"}]}
    assert _detail(httpx.Response(422, json=body)) == "2 items are invalid (item 3, hash: not hex)"
    assert _detail(httpx.Response(401, json={"detail": "unknown API key"})) == "unknown API key"
    assert _detail(httpx.Response(502, text="<html>bad gateway</html>")) == "Bad Gateway"


def test_retry_after_in_seconds() -> None:
    assert _retry_after(httpx.Response(429, headers={"Retry-After": "7"})) == 7.0
    assert _retry_after(httpx.Response(429, headers={"Retry-After": "soon"})) is None
    assert _retry_after(httpx.Response(503)) is None


def test_backoff_doubles_up_to_its_cap() -> None:
    retrying = Retrying(backoff=1.0, max_backoff=10.0)
    for attempt, ceiling in [(0, 1.0), (1, 2.0), (3, 8.0), (4, 10.0), (9, 10.0)]:
        assert ceiling / 2 <= retrying.delay(attempt) <= ceiling


def test_batches_over_the_limit_are_refused_before_sending() -> None:
    with (
        closing(MatchClient("http://127.0.0.1:1", "key")) as client,
        pytest.raises(ValueError, match="at most 10000"),
    ):
        client.match([{"type": "md5", "hash": "0" * 32, "ref": "r"}] * (MAX_ITEMS + 1))
