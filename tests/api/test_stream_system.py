"""NDJSON streaming, health, readiness, metrics and the OpenAPI document."""

import hashlib
import json
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.app import create_app
from db import make_session_factory
from db.clock import ManualClock
from db.models import AuditRecord, Notice
from indexer.watcher import IndexWatcher
from matcher import INDEX_FORMAT_VERSION
from tests.api.support import START, World, flip, make_settings

NDJSON = {"Content-Type": "application/x-ndjson"}


def _lines(items: Sequence[object]) -> bytes:
    return b"".join(
        (item if isinstance(item, bytes) else json.dumps(item).encode()) + b"\n" for item in items
    )


def _stream(world: World, body: bytes | Iterator[bytes], who: str = "hoster") -> list[dict[str, object]]:
    answer = world.client.post("/v1/match/stream", content=body, headers={**world.auth(who), **NDJSON})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/x-ndjson")
    return [json.loads(line) for line in answer.text.splitlines()]


def test_a_stream_answers_one_line_per_ref_bad_lines_inline_and_counts_last(world: World) -> None:
    h = world.hashes
    body = _lines(
        [
            {"type": "md5", "hash": h["img1.md5"], "ref": "a"},
            {"type": "pdq", "hash": flip(h["img1.pdq"], 3), "ref": "a"},
            b"{not json",
            {"type": "pdq", "hash": "12", "ref": "b"},
            b"",
            {"type": "phash", "hash": flip(h["img3.phash"], 1), "ref": "c"},
            {"type": "sha256", "hash": "00" * 32, "ref": "d"},
            b"x" * 20_000,
        ]
    )
    lines = _stream(world, body)
    assert lines[-1]["counts"] == {"items": 4, "refs": 3, "matched": 2, "refused": 3}
    errors = [line for line in lines if "line" in line]
    assert [(e["line"], e["field"]) for e in errors] == [(3, "line"), (4, "hash"), (8, "line")]
    results = {line["ref"]: line for line in lines if "ref" in line}
    assert results["a"]["confidence"] == "high"
    assert results["a"]["signals"] == ["md5", "pdq"]
    assert str(results["a"]["notice_id"]).startswith("ntc_")
    assert results["c"]["confidence"] == "medium"
    assert results["d"]["matched"] is False


def test_a_large_stream_is_matched_in_chunks_that_keep_each_ref_whole(
    world: World, database_url: str, tmp_path: Path
) -> None:
    h = world.hashes
    settings = make_settings(database_url, tmp_path, stream_chunk_items=3)
    watcher = world.client.app.state.services.watcher  # type: ignore[attr-defined]
    app = create_app(settings, clock=world.clock, watcher=watcher)

    def body() -> Iterator[bytes]:  # sent in pieces that cut lines in two
        data = _lines(
            [{"type": "md5", "hash": f"{n:032x}", "ref": f"r{n // 2}"} for n in range(40)]
            + [
                {"type": "md5", "hash": h["img1.md5"], "ref": "hit"},
                {"type": "sha1", "hash": h["iwf.sha1"], "ref": "hit"},
            ]
        )
        for start in range(0, len(data), 37):
            yield data[start : start + 37]

    with TestClient(app) as client:
        answer = client.post("/v1/match/stream", content=body(), headers={**world.auth("hoster"), **NDJSON})
    lines = [json.loads(line) for line in answer.text.splitlines()]
    assert lines[-1]["counts"] == {"items": 42, "refs": 21, "matched": 1, "refused": 0}
    assert [line["ref"] for line in lines[:-1]] == [f"r{n}" for n in range(20)] + ["hit"]
    assert lines[-2]["signals"] == ["md5", "sha1"]
    with make_session_factory(world.engine)() as session:
        chunks = session.scalar(select(func.count()).where(AuditRecord.action == "match.stream"))
        assert chunks == 11  # 20 refs of 2 items in chunks of at least 3 items, then the last
        assert session.scalar(select(func.count()).select_from(Notice)) == 1


def test_a_stream_takes_lower_thresholds_and_refuses_bad_ones_before_streaming(world: World) -> None:
    item = {"type": "pdq", "hash": flip(world.hashes["img2.pdq"], 20), "ref": "a"}
    headers = {**world.auth("hotline"), **NDJSON}
    post = world.client.post
    first = post("/v1/match/stream", content=_lines([item]), headers=headers).text.splitlines()[0]
    assert json.loads(first)["confidence"] == "medium"
    lowered = post("/v1/match/stream?thresholds=pdq:19,phash:6", content=_lines([item]), headers=headers)
    assert (
        lowered.text.splitlines()[0]
        == '{"ref":"a","matched":false,"confidence":null,"signals":[],"notice_id":null,"reupload_of":null,'
        '"matches":[]}'
    )
    for bad in ("pdq:99", "nope:3", "pdq:x"):
        refused = post(f"/v1/match/stream?thresholds={bad}", content=_lines([item]), headers=headers)
        assert refused.status_code == 422, bad
        assert refused.json()["errors"][0]["field"].startswith("thresholds.")


def test_a_stream_refuses_images_and_other_content_types(world: World) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    refused = world.client.post("/v1/match/stream", content=png, headers={**world.auth("hoster"), **NDJSON})
    assert refused.status_code == 415
    as_json = world.client.post("/v1/match/stream", content=b"{}", headers=world.auth("hoster"))
    assert as_json.status_code == 415


def test_health_and_readiness_name_the_served_version_and_its_age_and_503_before_any_index(
    world: World, database_url: str, tmp_path: Path
) -> None:
    health = world.client.get("/healthz").json()
    ready = world.client.get("/readyz").json()
    for body in (health, ready):
        assert body["status"] == "ok"
        assert body["index_version"] == world.index_version
        assert 0 <= body["index_age_seconds"] < 600
        assert body["index_published_at"] is not None
        assert body["served_since"] is not None
    assert ready["detail"].startswith(f"serving index version {world.index_version} (published ")
    assert ready["refused"] == []
    empty = IndexWatcher(tmp_path / "no-index")
    app = create_app(make_settings(database_url, tmp_path), clock=ManualClock(START), watcher=empty)
    with TestClient(app) as client:
        answer = client.get("/readyz")
        assert answer.status_code == 503
        assert answer.json()["status"] == "unavailable"
        assert answer.json()["detail"] == "no index has been published yet"
        assert client.get("/healthz").json()["index_version"] is None
        item = {"type": "md5", "hash": "00" * 16, "ref": "r"}
        answer = client.post("/v1/match", json={"items": [item]}, headers=world.auth("hoster"))
        assert answer.status_code == 503
        assert "no index" in answer.json()["detail"]
        stream = client.post(
            "/v1/match/stream", content=_lines([item]), headers={**world.auth("hoster"), **NDJSON}
        )
        assert stream.status_code == 503


def _damaged_copy(world: World, tmp_path: Path) -> tuple[Path, str]:
    """A copy of the world's index directory whose served version has a flipped byte, beside a good
    older copy of it named ``older``."""
    copy = tmp_path / "copied-indexes"
    shutil.copytree(world.index_dir, copy)
    assert world.index_version is not None
    shutil.copytree(copy / world.index_version, copy / "older")
    manifest = json.loads((copy / "older" / "manifest.json").read_text())
    manifest["published_at"] = "2026-11-01T09:00:00+00:00"
    (copy / "older" / "manifest.json").write_text(json.dumps(manifest))
    codes = copy / world.index_version / "pdq" / "codes.faiss"
    data = bytearray(codes.read_bytes())
    data[-3] ^= 0x01
    codes.write_bytes(bytes(data))
    return copy, world.index_version


def test_readiness_is_degraded_on_a_fallback_and_says_why_in_words_without_paths(
    world: World, database_url: str, tmp_path: Path
) -> None:
    copy, version = _damaged_copy(world, tmp_path)
    watcher = IndexWatcher(copy)
    assert watcher.check()
    app = create_app(make_settings(database_url, tmp_path), clock=ManualClock(START), watcher=watcher)
    with TestClient(app) as client:
        answer = client.get("/readyz")
        assert answer.status_code == 200
        body = answer.json()
        assert body["status"] == "degraded"
        assert body["index_version"] == "older"
        assert body["index_published_at"] == "2026-11-01T09:00:00+00:00"
        assert body["refused"] == [
            {
                "version": version,
                "problems": [f"{version}/pdq/codes.faiss: its SHA-256 differs from the manifest's"],
            }
        ]
        assert body["detail"].startswith(
            "serving the older index version older (published 2026-11-01T09:00:00+00:00) because the "
            f"published version {version} was refused: {version}/pdq/codes.faiss"
        )
        assert str(tmp_path) not in answer.text
        assert client.get("/healthz").json()["index_version"] == "older"
        shutil.rmtree(copy / "older")
        (copy / version / "pdq" / "codes.faiss").write_bytes(b"")
        watcher.check()
        answer = client.get("/readyz")
        assert answer.status_code == 503
        assert answer.json()["status"] == "unavailable"
        assert answer.json()["detail"].startswith(
            f"no index version can be served: version {version} was refused: "
            f"{version}/pdq/codes.faiss: 0 bytes"
        )
        assert str(tmp_path) not in answer.text


def test_readiness_says_why_the_served_index_cannot_be_loaded(
    world: World, database_url: str, tmp_path: Path
) -> None:
    """An index written whole in a format this program does not read (an upgrade): 503 with the reason."""
    copy = tmp_path / "upgraded-indexes"
    shutil.copytree(world.index_dir, copy)
    assert world.index_version is not None
    description = copy / world.index_version / "pdq" / "index.json"
    current = f'"format_version": {INDEX_FORMAT_VERSION}'
    assert current in description.read_text()
    description.write_text(description.read_text().replace(current, '"format_version": 1'))
    manifest_path = copy / world.index_version / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["files"]["pdq/index.json"] = {
        "size": description.stat().st_size,
        "sha256": hashlib.sha256(description.read_bytes()).hexdigest(),
    }
    manifest_path.write_text(json.dumps(manifest))
    watcher = IndexWatcher(copy)
    assert not watcher.check()
    app = create_app(make_settings(database_url, tmp_path), clock=ManualClock(START), watcher=watcher)
    with TestClient(app) as client:
        answer = client.get("/readyz")
    assert answer.status_code == 503
    detail = answer.json()["detail"]
    assert (
        f"{world.index_version}/pdq/index.json has format version 1; "
        f"this program reads version {INDEX_FORMAT_VERSION}" in detail
    )
    assert str(tmp_path) not in answer.text


def test_metrics_count_requests_matches_notices_and_describe_the_index(world: World) -> None:
    world.match("hoster", [{"type": "md5", "hash": world.hashes["img1.md5"], "ref": "a"}])
    world.match("hoster", [{"type": "md5", "hash": "zz", "ref": "a"}])
    text = world.client.get("/metrics", headers=world.auth("admin")).text
    assert 'hashmatch_http_requests_total{method="POST",route="/v1/match",status="200"} 1.0' in text
    assert 'hashmatch_http_requests_total{method="POST",route="/v1/match",status="422"} 1.0' in text
    assert (
        'hashmatch_http_request_duration_seconds_bucket{le="0.005",method="POST",route="/v1/match"}' in text
    )
    assert 'hashmatch_matches_total{confidence="high"} 1.0' in text
    assert 'hashmatch_notices{status="open"} 1.0' in text
    assert f'hashmatch_index_info{{version="{world.index_version}"}} 1.0' in text
    assert 'hashmatch_index_entries{type="pdq"} 3.0' in text


def test_the_openapi_document_has_an_example_and_error_shapes_for_every_route(world: World) -> None:
    document = world.client.get("/openapi.json").json()
    text = json.dumps(document)
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert operation.get("summary"), (method, path)
            assert "example" in json.dumps(operation) or _has_schema_example(document, operation), (
                method,
                path,
            )
    assert '"429"' in json.dumps(document["paths"]["/v1/match"])
    assert "ErrorBody" in text
    assert "HTTPValidationError" not in text  # every 422 is documented in our error shape
    refs = {part.split('"')[0] for part in text.split("#/components/schemas/")[1:]}
    assert refs <= set(document["components"]["schemas"])  # no dangling reference
    request = document["paths"]["/v1/match"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert request["properties"]["items"]["items"]["required"] == ["type", "hash", "ref"]


def _has_schema_example(document: dict[str, Any], operation: dict[str, Any]) -> bool:
    schemas = document["components"]["schemas"]
    refs = [part.split('"')[0] for part in json.dumps(operation).split("#/components/schemas/")[1:]]
    return any("examples" in schemas[ref] for ref in refs)
