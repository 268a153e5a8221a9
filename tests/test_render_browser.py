"""The HTML story in a real browser: headless Chromium at a phone's size, with no network.

Each page must load without a console error, an uncaught exception, a logged error or a request
to anything but itself, and must fit the phone's width. Screenshots of every page are saved to a
folder the test prints, and copied to ``build/screenshots/`` (git-ignored) for a person to look at.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import SparkSession

from browser import Browser, PageReport, find_chromium, save_screenshot
from render_support import engine_documents, fixture_documents
from spinback.config import Config
from spinback.render.html import story_page

pytestmark = pytest.mark.heavy

REPOSITORY_SCREENSHOTS = Path(__file__).resolve().parents[1] / "build" / "screenshots"
FITS_THE_WIDTH = "document.documentElement.scrollWidth <= window.innerWidth"
DOCUMENTS = fixture_documents()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    binary = find_chromium()
    if binary is None:
        reason = (
            "Chromium is not installed (looked for chromium, chromium-browser, google-chrome); "
            "`make setup` installs Debian's chromium where root and apt are available"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    with Browser(binary) as running:
        yield running


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("screenshots")


def open_page(
    browser: Browser, document: dict[str, Any], name: str, folder: Path, capsys: Any
) -> PageReport:
    page = folder / f"{name}.html"
    page.write_text(story_page(document), encoding="utf-8")

    report = browser.open(page.as_uri(), expressions=(FITS_THE_WIDTH,))

    saved = save_screenshot(report, folder, name)
    REPOSITORY_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(saved, REPOSITORY_SCREENSHOTS / saved.name)
    with capsys.disabled():
        print(f"\nscreenshot of {name}: {saved} (copied to {REPOSITORY_SCREENSHOTS})")
    return report


def assert_clean(report: PageReport) -> None:
    assert report.problems == [], f"{report.url}: {report.problems}"
    assert report.requests == [report.url]
    assert report.values[FITS_THE_WIDTH] is True, "the page is wider than the phone"
    assert report.screenshot.startswith(b"\x89PNG")


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_a_story_page_opens_cleanly_on_a_phone(
    browser: Browser, screenshots: Path, capsys: Any, name: str
) -> None:
    report = open_page(browser, DOCUMENTS[name], name, screenshots, capsys)

    assert_clean(report)


def test_a_page_of_the_engine_opens_cleanly_on_a_phone(
    browser: Browser, screenshots: Path, capsys: Any, spark: SparkSession, config: Config
) -> None:
    documents = engine_documents(spark, config)

    for user, document in documents.items():
        assert_clean(open_page(browser, document, f"engine-{user}", screenshots, capsys))


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("<script>console.error('boom')</script>", "console.error: boom"),
        ("<script>throw new Error('kaput')</script>", "uncaught exception: Error: kaput"),
        ("<img src='https://example.invalid/cover.png'>", "network request: https://example"),
    ],
)
def test_the_check_catches_a_broken_page(
    browser: Browser, tmp_path: Path, body: str, problem: str
) -> None:
    page = tmp_path / "broken.html"
    page.write_text(f"<!doctype html><title>broken</title>{body}", encoding="utf-8")

    report = browser.open(page.as_uri())

    assert any(found.startswith(problem) for found in report.problems), report.problems
