"""Fixtures that run the real app and a headless Chromium page against it."""

import os

import pytest

from harness import app_server as harness

IN_CI = os.environ.get("CI", "").lower() == "true"


def pytest_collection_modifyitems(items):
    # A local machine without chromium may skip; in CI a missing browser is a broken setup.
    if os.path.exists(harness.CHROMIUM) or IN_CI:
        return
    skip = pytest.mark.skip(reason=f"{harness.CHROMIUM} not installed (./test.sh installs it as root)")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def app_server():
    app = harness.start_app(timeout=60)
    yield app
    app.stop()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = harness.launch_chromium(pw)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, app_server):
    """A fresh page with the explorer loaded and its first run finished."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.dialogs = []  # every alert/confirm the page tries to open
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    harness.open_explorer(page, app_server.url)
    yield page
    context.close()
