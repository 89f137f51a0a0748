"""Helpers of the console tests: a browser-like client per user, signed in with a key, and the CSRF
token of the page it shows."""

import re

import httpx
from fastapi.testclient import TestClient

from tests.api.support import World, flip

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    assert found is not None, page.text[:2000]
    return found.group(1)


def browser(world: World) -> TestClient:
    """A client of the world's app with a cookie jar of its own, over HTTPS (the session cookie is Secure
    on any host but localhost)."""
    return TestClient(world.client.app, base_url="https://console.example", follow_redirects=False)


def signed_in(world: World, who: str) -> tuple[TestClient, str]:
    """A client signed in with ``who``'s key, and its session's CSRF token."""
    client = browser(world)
    form = client.get("/console/sign-in")
    answer = client.post("/console/sign-in", data={"key": world.keys[who], "csrf": csrf_of(form)})
    assert answer.status_code == 303, answer.text
    home = client.get(answer.headers["location"], follow_redirects=True)
    assert home.status_code == 200, home.text
    return client, csrf_of(home)


def open_notices(world: World) -> tuple[str, str, str]:
    """Three notices: two to 'hoster' (one on EOKM's list, one on IWF's), one to 'hoster2' (EOKM's)."""
    h = world.hashes
    items = [
        {"type": "md5", "hash": h["img1.md5"], "ref": "https://cdn.example/a.jpg"},
        {"type": "pdq", "hash": flip(h["iwf.pdq"], 4), "ref": "https://cdn.example/b.jpg"},
    ]
    results = world.match("hoster", items).json()["results"]
    other = world.match("hoster2", [{**items[0], "ref": "https://other.example/c.jpg"}]).json()["results"]
    return results[0]["notice_id"], results[1]["notice_id"], other[0]["notice_id"]
