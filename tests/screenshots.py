"""Screenshots of the console's main pages for the README: ``python -m tests.screenshots [DIR]`` (default
``docs/console``; ``make screenshots``). Starts ``hashmatch serve`` over the browser tests' sample data,
acts a little through the API (a removal, a dispute, an overdue notice) and photographs each role's pages
in headless Chromium."""

import argparse
import base64
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.select import Select
from sqlalchemy import update

from db import make_engine
from db.models import Notice
from tests.console.browser import Site, chromium, click, running_site, sign_in, sign_out

IMPORT_FILE = "type,hash,item,category\nmd5,{good},new-1,A\nmd5,zz,new-2,A\n"


def shoot(browser: WebDriver, folder: Path, name: str) -> None:
    """The whole page, beyond the window's height, as ``folder/name.png`` (Chromium's DevTools call)."""
    size = browser.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    clip = {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], 2400), "scale": 1}
    shot = browser.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip}
    )
    (folder / f"{name}.png").write_bytes(base64.b64decode(shot["data"]))


def _prepare(site: Site) -> None:
    """A notice removed and one disputed by the hoster, another hoster's notice overdue."""
    with httpx.Client(base_url=site.base, timeout=30) as client:
        auth = {"Authorization": f"Bearer {site.keys['hoster']}"}
        removed = client.post(f"/v1/notices/{site.notices['iwf']}/removed", json={}, headers=auth)
        disputed = client.post(
            f"/v1/notices/{site.notices['eokm']}/dispute", json={"reason": "our own logo"}, headers=auth
        )
        assert removed.status_code == disputed.status_code == 200, (removed.text, disputed.text)
    engine = make_engine(site.database_url)
    with engine.begin() as connection:
        late = datetime.now(UTC) - timedelta(hours=2)
        connection.execute(
            update(Notice).where(Notice.public_id == site.notices["other"]).values(deadline=late)
        )
    engine.dispose()


def take(folder: Path) -> list[Path]:
    """Every main page of every role, photographed into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch, running_site(Path(scratch) / "site") as site:
        _prepare(site)
        with chromium(Path(scratch) / "profile") as browser:
            browser.get(f"{site.base}/console/sign-in")
            shoot(browser, folder, "sign-in")
            sign_in(browser, site, "hoster")
            shoot(browser, folder, "hoster-inbox")
            browser.get(f"{site.base}/console/notices/{site.notices['eokm']}")
            shoot(browser, folder, "hoster-notice")
            browser.get(f"{site.base}/console/webhooks")
            shoot(browser, folder, "hoster-webhooks")
            sign_out(browser)
            sign_in(browser, site, "hotline")
            shoot(browser, folder, "hotline-lists")
            browser.find_element(By.LINK_TEXT, "eokm-main").click()
            shoot(browser, folder, "hotline-list")
            upload = Path(scratch) / "more.csv"
            upload.write_text(IMPORT_FILE.format(good="5d" * 16))
            browser.find_element(By.ID, "file").send_keys(str(upload))
            Select(browser.find_element(By.ID, "mode")).select_by_value("delta")
            click(browser, browser.find_element(By.ID, "check"))
            shoot(browser, folder, "hotline-import")
            browser.get(f"{site.base}/console/notices/{site.notices['eokm']}")
            shoot(browser, folder, "hotline-dispute")
            sign_out(browser)
            sign_in(browser, site, "authority")
            shoot(browser, folder, "authority-compliance")
            sign_out(browser)
            sign_in(browser, site, "admin")
            shoot(browser, folder, "admin-organisations")
    return sorted(folder.glob("*.png"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder", nargs="?", type=Path, default=Path("docs/console"))
    for path in take(parser.parse_args().folder):
        print(path)


if __name__ == "__main__":
    main()
