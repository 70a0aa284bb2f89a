"""Headless Chromium (Debian's ``/usr/bin/chromium``) driven by Playwright's Python package.

``browser`` is shared by the session; each test gets a fresh ``page`` in its own context (own
sessionStorage, downloads accepted) that fails the test on any JavaScript dialog (an ``alert``
would mean markup from an event ran) and on any uncaught page error.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("LOGIFLOW_TEST_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


@dataclass
class PageWatch:
    """What the page did that a test must not allow."""

    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    # Module scope: Playwright's sync API keeps an event loop running in this thread while it
    # is open, and asyncio.run() in the tests collected after this module must still work.
    if not Path(CHROMIUM).exists():
        missing = f"{CHROMIUM} is missing: run `make system-deps`"
        if os.environ.get("LOGIFLOW_REQUIRE_BROWSER") == "1":  # CI: a broken install must fail
            pytest.fail(missing)
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def watch() -> PageWatch:
    return PageWatch()


@pytest.fixture
def page(browser: Any, watch: PageWatch, artifacts: Path) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)

    def on_dialog(dialog: Any) -> None:
        watch.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda exc: watch.errors.append(str(exc)))
    try:
        yield page
    finally:
        try:
            page.screenshot(path=str(artifacts / "last.png"), full_page=True)
        finally:
            context.close()
    assert not watch.dialogs, f"the page opened dialogs (markup from data ran?): {watch.dialogs}"
    assert not watch.errors, f"uncaught errors in the page: {watch.errors}"
