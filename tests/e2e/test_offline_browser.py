"""Offline mode driven in headless Chromium, as a trainer would use it: a refusal is a private reply, not a failure.

Starts ``python run.py sandbox`` and drives its page with selenium. Skips only when no
Chromium (and its driver) is installed; ``.ci/run`` installs Debian's.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import (
    ElementClickInterceptedException,
    ElementNotInteractableException,
    StaleElementReferenceException,
)
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as seen
from selenium.webdriver.support.ui import Select, WebDriverWait

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
DRIVER = shutil.which("chromedriver")
# The page re-renders as it loads and as it is typed in: an element found a moment ago may be replaced or covered.
SHIFTING = (StaleElementReferenceException, ElementClickInterceptedException, ElementNotInteractableException)
FAILURE_SIGNS = ("The bot action failed", "Action outcome uncertain")

pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="needs chromium and chromedriver")


class Sandbox:
    """``python run.py sandbox`` in a process of its own; everything it prints is kept."""

    def __init__(self, tmp_path: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "run.py", "sandbox", "--port", "0", "--database", str(tmp_path / "demo.db")],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "COALESCE_LOG_LEVEL": "WARNING"},
        )
        self.output: list[str] = []
        self.url_ready = threading.Event()
        self.url = ""
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.output.append(line)
            found = re.search(r"(http://127\.0\.0\.1:\d+/\S+)", line)
            if found and not self.url:
                self.url = found.group(1)
                self.url_ready.set()
        self.url_ready.set()

    @property
    def printed(self) -> str:
        return "".join(self.output)


@pytest.fixture
def sandbox(tmp_path):
    running = Sandbox(tmp_path)
    yield running
    if running.process.poll() is None:
        running.process.kill()
        running.process.wait()


@pytest.fixture
def browser():
    options = Options()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.add_argument("--window-size=1280,900")
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()


def slash(browser, command: str, **options: str) -> None:
    """Type a slash command in the composer as a person would: pick it, then fill each option."""
    wait = WebDriverWait(browser, 60, ignored_exceptions=SHIFTING)
    wait.until(lambda b: command_offered(b, f"/{command}"))
    wait.until(lambda b: type_into(b, "#channel-composer-input", "\n", click_first=False))
    for name, value in options.items():
        selector = f'.command-option-input[data-option="{name}"]'
        wait.until(lambda b, selector=selector, value=value: type_into(b, selector, value))
        if browser.find_element(By.CSS_SELECTOR, selector).get_attribute("role") == "combobox":
            # A choice or an autocomplete: take the first suggestion, as a person picking from the list.
            wait.until(lambda b: click(b, "#command-suggestion-listbox .command-suggestion"))
    wait.until(lambda b: click(b, "#send-message"))


def act_as(browser, person: str) -> bool:
    picker = Select(browser.find_element(By.ID, "viewer-picker"))
    picker.select_by_visible_text(person)
    return picker.first_selected_option.text == person


def command_offered(browser, typed: str) -> bool:
    """Type ``typed`` in the composer (again, if a re-render lost it) until the command list offers it."""
    field = browser.find_element(By.ID, "channel-composer-input")
    if field.get_attribute("value") != typed:
        field.clear()
        field.click()
        field.send_keys(typed)
    return bool(browser.find_elements(By.CSS_SELECTOR, "#command-picker-listbox, #command-suggestion-listbox"))


def type_into(browser, selector: str, text: str, *, click_first: bool = True) -> bool:
    """Click the field and type ``text`` if it can take it now; False lets a wait try again."""
    if click_first and not click(browser, selector):
        return False
    browser.find_element(By.CSS_SELECTOR, selector).send_keys(text)
    return True


def click(browser, selector: str) -> bool:
    """Click the element if it is there and enabled now; False lets a wait try again."""
    found = browser.find_elements(By.CSS_SELECTOR, selector)
    if not found or not found[0].is_displayed() or not found[0].is_enabled():
        return False
    found[0].click()
    return True


def screenshot(browser, tmp_path: Path, name: str) -> Path:
    browser.execute_script("const t = document.getElementById('channel-timeline'); t.scrollTop = t.scrollHeight;")
    path = tmp_path / f"{name}.png"
    browser.save_screenshot(str(path))
    if os.environ.get("COALESCE_WRITE_DOCS"):
        shutil.copy(path, ROOT / "docs" / f"{name}.png")
    return path


def test_a_volunteers_refused_post_is_a_private_reply_and_the_demo_ends_cleanly(sandbox, browser, tmp_path):
    assert sandbox.url_ready.wait(120) and sandbox.url, sandbox.printed
    wait = WebDriverWait(browser, 30, ignored_exceptions=SHIFTING)
    browser.get(sandbox.url)
    wait.until(lambda b: b.find_element(By.ID, "preview-app").get_attribute("aria-busy") == "false")
    wait.until(seen.visibility_of_element_located((By.ID, "channel-composer-input")))
    wait.until(seen.text_to_be_present_in_element((By.ID, "viewer-picker"), "Vic (volunteer)"))
    wait.until(lambda b: act_as(b, "Vic (volunteer)"))

    slash(browser, "need post", sector="wash", item="soap", quantity="40", location="Houston", urgency="high")

    wait.until(seen.text_to_be_present_in_element((By.ID, "channel-message-list"), "Only you can see this"))
    wait.until(seen.text_to_be_present_in_element((By.ID, "action-status"), "Action completed"))
    timeline = browser.find_element(By.ID, "channel-message-list").text
    assert timeline.rstrip().endswith(
        "Only you can see this\nYou are not a member of any organisation here. Register one with /org register."
    )
    shown = screenshot(browser, tmp_path, "offline-refusal")
    assert shown.stat().st_size > 10_000
    page = browser.page_source
    assert not any(sign in page for sign in FAILURE_SIGNS), "a refusal is not a failure of the bot"

    # Ending the demo from the page ends the program cleanly: no ExceptionGroup of recorded "errors".
    browser.find_element(By.CSS_SELECTOR, ".session-menu summary").click()
    wait.until(seen.element_to_be_clickable((By.ID, "close"))).click()
    assert sandbox.process.wait(timeout=60) == 0, sandbox.printed
    assert "Traceback" not in sandbox.printed and "ExceptionGroup" not in sandbox.printed


def test_ctrl_c_ends_the_browser_demo_at_once_and_cleanly(sandbox):
    assert sandbox.url_ready.wait(120) and sandbox.url, sandbox.printed

    sandbox.process.send_signal(signal.SIGINT)

    assert sandbox.process.wait(timeout=15) == 0, sandbox.printed
    assert "Traceback" not in sandbox.printed
