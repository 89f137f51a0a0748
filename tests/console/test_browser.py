"""Each role's main path in a real browser (Debian's Chromium, headless) against a real ``hashmatch serve``:
sign in, see what the role may see and not the others', act, see the result, sign out; a forged form
and an expired session refused. One server and one browser for the module, the tests in order."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.select import Select
from sqlalchemy import update

from db import make_engine
from db.models import ConsoleSession, Notice
from tests.console.browser import (
    BrowserUnavailable,
    Site,
    chromium,
    click,
    running_site,
    sign_in,
    sign_out,
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with running_site(tmp_path_factory.mktemp("site")) as running:
        yield running


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    try:
        with chromium(tmp_path_factory.mktemp("profile")) as opened:
            yield opened
    except BrowserUnavailable as missing:
        pytest.skip(str(missing))


def _text(browser: WebDriver) -> str:
    return str(browser.find_element(By.TAG_NAME, "body").text)


def _flash(browser: WebDriver) -> str:
    return str(browser.find_element(By.CSS_SELECTOR, ".flash").text)


def _menu(browser: WebDriver) -> list[str]:
    return [str(link.text) for link in browser.find_elements(By.CSS_SELECTOR, "header nav a")]


def _change(site: Site, *values: object) -> None:
    """Change the server's database directly (what time would do: deadlines passing, sessions idling)."""
    engine = make_engine(site.database_url)
    with engine.begin() as connection:
        for statement in values:
            connection.execute(statement)  # type: ignore[call-overload]
    engine.dispose()


def test_a_hoster_removes_one_notice_and_disputes_another_and_sees_nothing_of_the_lists(
    site: Site, browser: WebDriver
) -> None:
    sign_in(browser, site, "hoster")
    inbox = _text(browser)
    assert "Example Hosting" in inbox
    assert site.notices["eokm"] in inbox
    assert site.notices["iwf"] in inbox
    assert site.notices["other"] not in inbox
    assert _menu(browser) == ["Notices", "Webhooks"]
    click(browser, browser.find_element(By.LINK_TEXT, site.notices["iwf"]))
    page = browser.page_source
    for listed in (site.hashes["iwf.pdq"], site.hashes["img1.md5"], "Distance"):
        assert listed not in page
    browser.find_element(By.ID, "note").send_keys("deleted the upload")
    click(browser, browser.find_element(By.ID, "removed"))
    assert "removal confirmed (now removed)" in _flash(browser)
    assert browser.find_element(By.ID, "status").text == "removed"
    browser.get(f"{site.base}/console/notices/{site.notices['eokm']}")
    browser.find_element(By.ID, "reason").send_keys("our own logo, not listed material")
    click(browser, browser.find_element(By.ID, "dispute"))
    assert "(now disputed)" in _flash(browser)
    assert "our own logo" in browser.find_element(By.ID, "history").text
    browser.get(f"{site.base}/console/notices/{site.notices['other']}")
    assert "no notice" in _text(browser)
    sign_out(browser)
    assert "You are signed out." in _text(browser)
    browser.get(f"{site.base}/console/notices")
    assert browser.current_url.startswith(f"{site.base}/console/sign-in")


def test_the_hotline_withdraws_the_dispute_retracting_its_entry(site: Site, browser: WebDriver) -> None:
    sign_in(browser, site, "hotline")
    assert "eokm-main" in _text(browser)
    assert "iwf-hashes" not in _text(browser)
    click(browser, browser.find_element(By.LINK_TEXT, "Disputes"))
    assert site.notices["iwf"] not in _text(browser)  # IWF's list: not this hotline's
    click(browser, browser.find_element(By.LINK_TEXT, site.notices["eokm"]))
    assert site.hashes["img1.md5"] in browser.page_source  # its own entry, in full
    browser.find_element(By.ID, "withdraw").click()
    browser.find_element(By.ID, "resolve-reason").send_keys("a false positive: retracted")
    click(browser, browser.find_element(By.ID, "resolve"))
    assert "no longer served" in _flash(browser)
    assert browser.find_element(By.ID, "status").text == "withdrawn"
    browser.get(f"{site.base}/console/notices/{site.notices['other']}")
    assert browser.find_element(By.ID, "status").text == "withdrawn"  # rested on the retracted entry only
    sign_out(browser)


def test_the_authority_reads_compliance_and_escalates_an_overdue_notice(
    site: Site, browser: WebDriver
) -> None:
    past = datetime.now(UTC) - timedelta(hours=3)
    _change(
        site,
        update(Notice)
        .values(status="open", deadline=past, closed_at=None)
        .where(Notice.public_id == site.notices["other"]),
    )
    sign_in(browser, site, "authority")
    assert browser.current_url.startswith(f"{site.base}/console/compliance")
    assert browser.find_elements(By.CSS_SELECTOR, ".charts svg")
    assert "Example Hosting" in browser.find_element(By.ID, "hosters").text
    overdue = browser.find_element(By.ID, "overdue")
    assert site.notices["other"] in overdue.text
    overdue.find_element(By.NAME, "reason").send_keys("BO-2026-17")
    click(browser, overdue.find_element(By.CLASS_NAME, "escalate"))
    assert "escalated to a binding order" in _flash(browser)
    assert "binding order" in _text(browser)
    sign_out(browser)


def test_a_forged_form_is_refused_and_an_idle_session_expires(site: Site, browser: WebDriver) -> None:
    sign_in(browser, site, "hoster")
    browser.get(f"{site.base}/console/webhooks")
    browser.execute_script("document.querySelector('#add-webhook input[name=csrf]').value = 'forged'")
    browser.find_element(By.ID, "url").send_keys("https://hooks.example-hosting.net/in")
    click(browser, browser.find_element(By.ID, "add"))
    assert "did not come from this console" in _text(browser)
    browser.get(f"{site.base}/console/webhooks")
    assert "No webhooks yet" in _text(browser)
    _change(site, update(ConsoleSession).values(last_seen_at=datetime.now(UTC) - timedelta(minutes=31)))
    browser.get(f"{site.base}/console/notices")
    assert "Your session expired" in _text(browser)
    browser.get(f"{site.base}/console/notices")  # the expired session stays expired
    assert "Sign in" in _text(browser)


def test_the_operator_issues_a_key_shown_once(site: Site, browser: WebDriver) -> None:
    sign_in(browser, site, "admin")
    browser.find_element(By.ID, "name").send_keys("Browser Hosting")
    Select(browser.find_element(By.ID, "role")).select_by_visible_text("hoster")
    click(browser, browser.find_element(By.ID, "create"))
    assert "Browser Hosting (hoster) created" in _flash(browser)
    row = next(
        r
        for r in browser.find_elements(By.CSS_SELECTOR, "#organisations tbody tr")
        if "Browser Hosting" in r.text
    )
    row.find_element(By.NAME, "name").send_keys("first")
    click(browser, row.find_element(By.CLASS_NAME, "issue"))
    key = browser.find_element(By.ID, "new-key").text
    assert key.startswith("hm_")
    browser.get(f"{site.base}/console/organisations")
    assert key not in browser.page_source
    sign_out(browser)
