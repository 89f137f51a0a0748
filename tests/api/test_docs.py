"""The API's documentation pages work without internet, and the OpenAPI document they show is right:
a bearer security scheme on every protected operation, and each error status with its own real example."""

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.errors import respond
from api.openapi import EXAMPLE_ERRORS, example_body
from api.schemas import ErrorBody, ErrorItem
from db import make_engine, upgrade
from indexer.watcher import IndexWatcher
from tests.api.support import make_settings

CONTENT_TYPES = {
    ".js": ("text/javascript", "application/javascript"),
    ".css": ("text/css",),
    ".png": ("image/png",),
    ".json": ("application/json",),
}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """An app over an empty SQLite database: the pages and the document need no data."""
    data = tmp_path_factory.mktemp("docs")
    url = f"sqlite:///{data / 'hashmatch.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    app = create_app(make_settings(url, data), watcher=IndexWatcher(data / "indexes"))
    with TestClient(app) as opened:
        yield opened


def _urls(html: str) -> list[str]:
    """Every URL a page loads: src and href attributes, ReDoc's spec-url, Swagger UI's url."""
    found = re.findall(r'(?:src|href|spec-url)\s*=\s*["\']([^"\']+)', html)
    found += re.findall(r"\burl\s*:\s*['\"]([^'\"]+)", html)
    return found


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_pages_load_only_assets_the_app_serves(client: TestClient, page: str) -> None:
    answer = client.get(page)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    html = answer.text
    assert re.search(r"https?:|//cdn", html) is None
    urls = _urls(html)
    assert "/openapi.json" in urls
    assert any(url.endswith(".js") for url in urls)
    for url in urls:
        assert re.match(r"/[^/]", url), url
        asset = client.get(url)
        assert asset.status_code == 200, url
        kind = asset.headers["content-type"].split(";")[0]
        assert kind in CONTENT_TYPES[Path(url).suffix], (url, kind)
        assert len(asset.content) > 1000, url  # the real bundle, not a stub


def test_the_bundles_are_the_real_swagger_ui_and_redoc(client: TestClient) -> None:
    assert "SwaggerUIBundle" in client.get("/docs-assets/swagger-ui-bundle.js").text
    assert "Redoc" in client.get("/docs-assets/redoc.standalone.js").text
    assert ".swagger-ui" in client.get("/docs-assets/swagger-ui.css").text


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            yield method.upper(), path, operation


def test_every_protected_operation_declares_the_bearer_scheme(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    schemes = document["components"]["securitySchemes"]
    assert schemes == {
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "hm_<prefix>_<secret>",
            "description": schemes["bearer"]["description"],
        }
    }
    protected = 0
    for method, path, operation in _operations(document):
        if path in ("/healthz", "/readyz"):
            assert "security" not in operation, path
            continue
        assert operation.get("security") == [{"bearer": []}], (method, path)
        assert "401" in operation["responses"], (method, path)
        protected += 1
    assert protected > 10


def test_the_401_of_a_missing_key_keeps_the_apps_error_shape(client: TestClient) -> None:
    for headers in ({}, {"Authorization": "Basic dXNlcjpwdw=="}, {"Authorization": "Bearer"}):
        answer = client.get("/v1/me", headers=headers)
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"] == "Bearer"
        assert answer.json() == example_body(401)


def test_every_error_response_shows_the_real_example_of_its_status(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    seen: set[str] = set()
    for method, path, operation in _operations(document):
        for status, response in operation["responses"].items():
            if status.startswith("2") or (path, status) == ("/readyz", "503"):  # /readyz: its Health body
                continue
            content = response["content"]["application/json"]
            assert content["schema"] == {"$ref": "#/components/schemas/ErrorBody"}, (method, path, status)
            example = content["example"]
            _validate_error(schemas, example)
            assert example == example_body(int(status)), (method, path)
            assert ("errors" in example) == (status == "422"), (method, path, status)
            seen.add(status)
    assert {"401", "403", "404", "409", "413", "415", "422", "429", "503"} <= seen
    assert "examples" not in schemas["ErrorBody"]  # no 422 body shown for every status


def _validate_error(schemas: dict[str, Any], example: dict[str, Any]) -> None:
    """``example`` is an ErrorBody as the document describes it: its keys, required ones, types."""
    described = schemas["ErrorBody"]
    assert set(example) <= set(described["properties"])
    assert set(described["required"]) <= set(example)
    ErrorBody.model_validate(example, strict=True)
    for error in example.get("errors") or []:
        assert set(error) == set(schemas["ErrorItem"]["properties"])
        ErrorItem.model_validate(error, strict=True)


@pytest.mark.parametrize("status", sorted(EXAMPLE_ERRORS))
def test_each_example_is_made_by_an_error_the_app_answers_with_that_status(status: int) -> None:
    assert respond(EXAMPLE_ERRORS[status][1]).status_code == status
