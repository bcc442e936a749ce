"""Drive the real explorer page in Chromium the way a student would."""

from pathlib import Path

import pytest

from . import conftest

harness = conftest.harness
pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "browser"
XSS_A = "<img src=x onerror=alert(1)> <script>alert(2)</script>"


def shown_text(page) -> str:
    """Page text outside the text areas, squeezed so a token strip reads like its input.

    Whitespace and WordPiece '##' marks are dropped and case folded, so
    '< script > alert ( 2 ) < / script >' in token chips matches the typed probe.
    """
    text = page.evaluate("""() => {
        const main = document.querySelector('[data-testid="stMain"]').cloneNode(true);
        main.querySelectorAll('textarea, input').forEach(e => e.remove());
        document.body.appendChild(main);  // innerText needs a rendered node
        const t = main.innerText;
        main.remove();
        return t;
    }""")
    return "".join(text.split()).replace("##", "").lower()


def no_exception(page):
    exceptions = page.locator('[data-testid="stException"]')
    assert exceptions.count() == 0, exceptions.first.inner_text()


def test_edit_sentence_b_updates_p_isnext(page):
    assert page.get_by_label("Sentence A", exact=True).is_visible()
    first = float(harness.metric_value(page))
    assert 0.0 <= first <= 1.0

    run = harness.commit_text(page, "Sentence B", "Penguins cannot fly, but they swim very well.")
    p = float(run["value"])
    assert 0.0 <= p <= 1.0
    no_exception(page)


def test_html_in_sentences_is_shown_as_text(page):
    harness.commit_text(page, "Sentence A", XSS_A)
    page.wait_for_timeout(300)  # give an injected onerror handler time to fire

    assert page.dialogs == []
    assert page.locator("img[src=x]").count() == 0
    shown = shown_text(page)
    assert "<script>alert(2)</script>" in shown or "<imgsrc=xonerror=alert(1)>" in shown, shown[:500]
    assert 0.0 <= float(harness.metric_value(page)) <= 1.0
    no_exception(page)

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / "explorer.png", full_page=True)
