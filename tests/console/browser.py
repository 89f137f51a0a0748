"""A real server and a real browser for the console: ``hashmatch serve`` on a loopback port over a
database with the API tests' sample lists, notices and a key of every role; Debian's Chromium driven
headless by Selenium. Used by the browser tests and by ``python -m tests.screenshots``."""

import os
import shutil
import signal
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.expected_conditions import staleness_of
from selenium.webdriver.support.wait import WebDriverWait

from db import make_engine, upgrade
from db.clock import ManualClock
from tests.api.support import START, flip, issue_keys, publish_lists, sample_lists
from tests.api.test_server import _wait_ready, serve

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,900",
)


READY_SECONDS = 300
"""A first start compiles the search kernels: minutes on a loaded machine."""


class BrowserUnavailable(Exception):
    """Chromium or its WebDriver is not installed (scripts/ensure-services installs both)."""


@dataclass
class Site:
    """The running server: its address, database URL, keys and the notices opened over the API."""

    base: str
    database_url: str
    keys: dict[str, str]
    hashes: dict[str, str]
    notices: dict[str, str]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_site(data_dir: Path) -> Iterator[Site]:
    """``hashmatch serve`` over a new SQLite database in ``data_dir`` with the sample lists published,
    keys of every role and three notices: 'eokm' and 'iwf' to Example Hosting, 'other' to Other
    Hosting."""
    database_url = f"sqlite:///{data_dir / 'hashmatch.db'}"
    engine = make_engine(database_url)
    upgrade(engine)
    specs, hashes = sample_lists(np.random.default_rng(7))
    publish_lists(engine, data_dir / "indexes", specs)
    keys = issue_keys(engine, ManualClock(START))
    engine.dispose()
    port = _free_port()
    env = {**os.environ, "HASHMATCH_DATA_DIR": str(data_dir), "HASHMATCH_DATABASE_URL": ""}
    server = serve(port, env)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            _wait_ready(client, server, READY_SECONDS)
            notices = _open_notices(client, keys, hashes)
        yield Site(base, database_url, keys, hashes, notices)
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=30)


def _open_notices(client: httpx.Client, keys: dict[str, str], hashes: dict[str, str]) -> dict[str, str]:
    def match(who: str, items: list[dict[str, str]]) -> list[str]:
        answer = client.post(
            "/v1/match", json={"items": items}, headers={"Authorization": f"Bearer {keys[who]}"}
        )
        assert answer.status_code == 200, answer.text
        return [result["notice_id"] for result in answer.json()["results"]]

    eokm, iwf = match(
        "hoster",
        [
            {"type": "md5", "hash": hashes["img1.md5"], "ref": "https://cdn.example-hosting.net/u/a.jpg"},
            {
                "type": "pdq",
                "hash": flip(hashes["iwf.pdq"], 4),
                "ref": "https://cdn.example-hosting.net/u/b.jpg",
            },
        ],
    )
    (other,) = match(
        "hoster2", [{"type": "md5", "hash": hashes["img1.md5"], "ref": "https://other.example/c.jpg"}]
    )
    return {"eokm": eokm, "iwf": iwf, "other": other}


@contextmanager
def chromium(profile: Path) -> Iterator[WebDriver]:
    """Debian's Chromium, headless, with a fresh profile in ``profile``, driven by its chromedriver."""
    binary, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if binary is None or driver is None:
        raise BrowserUnavailable(
            "chromium and chromium-driver are not installed (run scripts/ensure-services)"
        )
    options = Options()
    options.binary_location = binary
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    browser = webdriver.Chrome(options=options, service=Service(driver))
    browser.implicitly_wait(0)
    try:
        yield browser
    finally:
        browser.quit()


def click(browser: WebDriver, element: WebElement) -> None:
    """Click ``element`` and wait for the page it leads to (a form's answer, a link's page)."""
    old = browser.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(browser, 30).until(staleness_of(old))


def sign_in(browser: WebDriver, site: Site, who: str) -> None:
    browser.get(f"{site.base}/console/sign-in")
    browser.find_element(By.ID, "key").send_keys(site.keys[who])
    click(browser, browser.find_element(By.ID, "sign-in"))


def sign_out(browser: WebDriver) -> None:
    click(browser, browser.find_element(By.ID, "sign-out"))
