"""``hashmatch demo`` (what ``make run`` serves): idempotent, and the service it sets up answers."""

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from config import Settings
from tests.commands import run
from tests.conftest import Configure

FIXTURES = Path(__file__).parent / "fixtures"


def test_the_demo_sets_up_a_service_that_matches_and_opens_notices(
    tmp_path: Path, configure: Configure, capsys: pytest.CaptureFixture[str]
) -> None:
    configure(data_dir=tmp_path)
    code, first, _ = run(capsys, "demo", str(FIXTURES / "sample_list.txt"))
    assert code == 0
    keys = {path.stem: path.read_text().strip() for path in (tmp_path / "demo-keys").iterdir()}
    assert sorted(keys) == ["authority", "hoster", "hotline"]
    assert (tmp_path / "demo-keys" / "hoster.key").stat().st_mode & 0o777 == 0o600
    assert run(capsys, "demo", str(FIXTURES / "sample_list.txt"))[:2] == (0, first)  # again: nothing changes
    assert {path.stem: path.read_text().strip() for path in (tmp_path / "demo-keys").iterdir()} == keys

    query = "18dd5b48d44fc88a8029ab9afb0cb3c06111363cde1ce1831cc900a1acdf6df7"  # sample_queries.txt line 2
    app = create_app(Settings(data_dir=tmp_path, tick_seconds=0))
    with TestClient(app) as client:
        answer = client.post(
            "/v1/match",
            json={"items": [{"type": "pdq", "hash": query, "ref": "s3://demo/a.jpg"}]},
            headers={"Authorization": f"Bearer {keys['hoster']}"},
        )
        assert answer.status_code == 200
        result = answer.json()["results"][0]
        assert (result["matched"], result["confidence"]) == (True, "medium")
        assert result["notice_id"]
        report = client.get(
            "/v1/reports/compliance",
            params={"start": "2020-01-01T00:00:00+00:00", "end": "2100-01-01T00:00:00+00:00"},
            headers={"Authorization": f"Bearer {keys['authority']}"},
        )
        assert report.status_code == 200
        assert [(row["group"], row["open"]) for row in report.json()["rows"]] == [("Demo Hoster", 1)]
