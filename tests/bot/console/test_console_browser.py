"""The console in real headless Chromium (Debian's ``chromium`` + ``chromium-driver``): log in, read the overview, open a
coverage gap, answer an escalation and see the reply arrive in the student's Slack thread.

Screenshots are kept under ``$TEST_ARTIFACTS_DIR/console`` when that is set, else under the test's tmp dir.
Nothing is downloaded: the system chromedriver is named explicitly. Skips when Chromium is not installed.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.bot.console.console_seed import ADMIN, CHANNEL, PASSWORD, QUESTION_COUNT

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER), reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)"
)


@pytest.fixture
def browser():
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,1000"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(120)
    yield driver
    driver.quit()


@pytest.fixture
def artifacts(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    base = Path(os.environ["TEST_ARTIFACTS_DIR"]) if os.environ.get("TEST_ARTIFACTS_DIR") else tmp_path
    folder = base / "console" / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_instructor_logs_in_reads_gaps_and_answers_an_escalation(browser, running_console, seeded, wire, artifacts):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    _, ids = seeded
    wait = WebDriverWait(browser, 60)
    browser.get(running_console.url + "/")
    wait.until(ready.presence_of_element_located((By.ID, "login-form")))
    assert "/login" in browser.current_url
    browser.find_element(By.ID, "username").send_keys(ADMIN)
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.ID, "login-button").click()

    count = wait.until(ready.presence_of_element_located((By.ID, "count-questions")))
    assert count.text == str(QUESTION_COUNT)
    chart = browser.find_element(By.ID, "overview-chart")
    wait.until(lambda driver: driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth", chart))
    assert browser.execute_script("return arguments[0].naturalWidth", chart) > 300  # the SVG was served and drawn
    browser.save_screenshot(str(artifacts / "1-overview.png"))

    browser.get(running_console.url + "/gaps")
    first = wait.until(ready.element_to_be_clickable((By.CSS_SELECTOR, "a.cluster-link")))
    label = first.text
    first.click()
    heading = wait.until(ready.presence_of_element_located((By.ID, "cluster-label")))
    assert heading.text == label
    assert len(browser.find_elements(By.CSS_SELECTOR, "#cluster-questions tbody tr")) >= 3
    assert "#t=" in browser.find_element(By.CSS_SELECTOR, "#closest-moment a").get_attribute("href")
    browser.save_screenshot(str(artifacts / "2-gap.png"))

    browser.get(running_console.url + "/escalations")
    wait.until(ready.element_to_be_clickable((By.CSS_SELECTOR, "a.escalation-link"))).click()
    reply = "The exam is open book; see the syllabus, section 4."
    wait.until(ready.presence_of_element_located((By.ID, "reply"))).send_keys(reply)
    browser.save_screenshot(str(artifacts / "3-escalation.png"))
    browser.find_element(By.ID, "send-reply").click()
    wait.until(ready.text_to_be_present_in_element((By.CSS_SELECTOR, ".flash.ok"), "Reply delivered"))
    browser.save_screenshot(str(artifacts / "4-resolved.png"))

    (posted,) = wire.thread(CHANNEL, ids["thread"])
    assert reply in posted["text"] and "<@U0STUDENT1>" in posted["text"]
    assert running_console.app.extensions["course_ta_console"].escalations.get(ids["escalation"]).status == "resolved"
    assert sorted(p.name for p in artifacts.iterdir()) == ["1-overview.png", "2-gap.png", "3-escalation.png", "4-resolved.png"]
