"""The GameDay's web console in headless Chromium (Selenium): open the page, acknowledge
the inbox item, requeue a dead letter, and see both changes on the page. Skipped without
Chromium and chromedriver, unless BEAMDRILL_REQUIRE_CHROMIUM is set (.ci/run sets it).
Screenshots go to BEAMDRILL_SHOTS (a directory) when it is set."""

from __future__ import annotations

import os
import shutil
import threading
import time
import warnings
from pathlib import Path
from typing import Iterator

import pytest

from drills.gameday.server import GameDay, GameDayResult, run_gameday
from drills.gameday.session import load_gameday


def _browser() -> tuple[str, str]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if chromium is None or driver is None:
        reason = "chromium/chromedriver are not installed (Debian: apt-get install -y chromium chromium-driver)"
        if os.environ.get("BEAMDRILL_REQUIRE_CHROMIUM"):
            pytest.fail(reason + ", but BEAMDRILL_REQUIRE_CHROMIUM is set")
        pytest.skip(reason)
    return chromium, driver


@pytest.fixture
def browser() -> Iterator[object]:
    chromium, driver = _browser()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1300",
                     "--disable-gpu"):
        options.add_argument(argument)
    chrome = webdriver.Chrome(service=Service(driver), options=options)
    chrome.set_page_load_timeout(60)
    try:
        yield chrome
    finally:
        chrome.quit()


def _shot(chrome: object, name: str) -> None:
    where = os.environ.get("BEAMDRILL_SHOTS")
    if where:
        Path(where).mkdir(parents=True, exist_ok=True)
        chrome.save_screenshot(str(Path(where) / f"gameday-{name}.png"))  # type: ignore[attr-defined]


def _click(wait: object, css: str) -> None:
    """Click the element ``css`` finds, again if a refresh replaced it in between."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    def clicked(chrome: object) -> bool:
        try:
            chrome.find_element(By.CSS_SELECTOR, css).click()  # type: ignore[attr-defined]
        except StaleElementReferenceException:
            return False
        return True
    wait.until(clicked)  # type: ignore[attr-defined]


def test_the_console_acknowledges_and_requeues(tmp_path: Path, browser: object) -> None:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    chrome: object = browser
    ready, box = threading.Event(), []
    day = GameDay(port=0, speed=100, ready=lambda url: ready.set(), wall_limit=120)
    loaded = load_gameday("fm3-dead-letter")

    def run() -> None:
        box.append(run_gameday(loaded, tmp_path / "day", day))
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(60)
    wait = WebDriverWait(chrome, 60, poll_frequency=0.2,  # type: ignore[arg-type]
                         ignored_exceptions=[StaleElementReferenceException])  # the tables refresh every second
    chrome.get(f"http://127.0.0.1:{day.port}/")  # type: ignore[attr-defined]
    assert "GameDay" in chrome.title  # type: ignore[attr-defined]
    # wait for the world to dead-letter the six preflights (t≈600 s, about 6 wall seconds at x100)
    wait.until(lambda c: c.find_element(By.ID, "dead-count").text == "6")
    assert day.session is not None
    day.session.pace.pause()  # hold the clock so the shots show one moment
    time.sleep(1.2)
    _shot(chrome, "1-dead-letters")
    _click(wait, "#inbox tr[data-id='1'] button.ack")
    wait.until(lambda c: c.find_element(By.CSS_SELECTOR, "#inbox tr[data-id='1'] .item-status").text == "acknowledged")
    _click(wait, "#faults button")
    wait.until(lambda c: "Fix" not in c.find_element(By.ID, "faults").text)
    message_id = chrome.find_element(By.CSS_SELECTOR, "#dead tr[data-id]").get_attribute("data-id")  # type: ignore[attr-defined]
    _click(wait, f"#dead tr[data-id='{message_id}'] button.requeue")
    wait.until(lambda c: c.find_element(By.ID, "dead-count").text == "5")
    assert message_id not in chrome.find_element(By.ID, "dead").text  # type: ignore[attr-defined]
    _click(wait, "#dead tr[data-id] a")
    wait.until(lambda c: c.find_element(By.ID, "trace").text.startswith("dead_letter:"))
    _shot(chrome, "2-acknowledged-requeued-trace")
    status = chrome.find_element(By.ID, "status").text  # type: ignore[attr-defined]
    assert "202" in status or "200" in status
    day.session.finish_requested = True
    thread.join(120)
    assert not thread.is_alive() and box
    result: GameDayResult = box[0]
    actions = [entry.action for entry in day.session.journal.actions]
    assert actions == ["inbox.patch", "fault.revert", "dead_letter.requeue"]
    assert result.score is not None and result.score.acknowledgements[0].owner == "operator"
