"""Drive the real explorer page in Chromium the way a student would."""

import re
from pathlib import Path

import pytest

from . import conftest

harness = conftest.harness
pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "browser"
XSS_A = "<img src=x onerror=alert(1)> <script>alert(2)</script>"


def probe_is_shown(page, probe: str) -> bool:
    """True if the probe's WordPiece tokens appear as page text, in order, outside the text areas.

    Matches both a token strip (chips with ids between the tokens, hence the short gaps
    allowed) and a plain echo of the input.
    """
    from transformers import BertTokenizerFast

    from explorer.models import bundled_encoder_dir

    tokens = BertTokenizerFast.from_pretrained(bundled_encoder_dir()).tokenize(probe)
    pattern = ".{0,40}?".join(re.escape(t.removeprefix("##")) for t in tokens)
    return re.search(pattern, shown_text(page)) is not None


def shown_text(page) -> str:
    """Page text outside the text areas, without whitespace or '##' marks, lower case."""
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

    b = "Penguins cannot fly, but they swim very well."
    run = harness.commit_text(page, "Sentence B", b)
    no_exception(page)
    # The page shows the new pair's number, as the shipped model scores it here, not the old one.
    from explorer.models import BUNDLED_TRAINED, load_model
    from explorer.nsp import score_pair
    from explorer.ui.explorer_view import DEFAULT_A

    expected = score_pair(load_model(BUNDLED_TRAINED, "cpu"), DEFAULT_A, b).p_is_next
    assert run["changed"] and run["value"] == f"{expected:.4f}" != f"{first:.4f}"


def test_html_in_sentences_is_shown_as_text(page):
    harness.commit_text(page, "Sentence A", XSS_A)
    page.wait_for_timeout(300)  # give an injected onerror handler time to fire

    assert page.dialogs == []
    assert page.locator("img[src=x]").count() == 0
    assert probe_is_shown(page, XSS_A), "the probe's tokens are not shown as text on the page"
    assert 0.0 <= float(harness.metric_value(page)) <= 1.0
    no_exception(page)

    save_full_screenshot(page, ARTIFACTS / "explorer.png")


def save_full_screenshot(page, path: Path) -> None:
    # Streamlit scrolls inside stMain, not the document, so full_page alone would stop at the
    # viewport: grow the viewport to the content first.
    height = page.evaluate("document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": 1280, "height": min(height, 10_000)})
    page.wait_for_timeout(500)  # let plotly charts re-lay out at the new size
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=path, full_page=True)


def _click_and_wait(page, locator, timeout_ms: float = 120_000) -> None:
    runs = page.evaluate("window.__nsp.runs")
    locator.click()
    harness.wait_idle(page, runs, timeout_ms)


def test_batch_tab_draws_steps_and_keeps_pasted_html_as_text(page):
    page.get_by_role("tab", name="Batch").click()
    _click_and_wait(page, page.get_by_text("pasted or uploaded", exact=True))
    pasted = f'{{"a": "{XSS_A.replace(chr(34), "")}", "b": "The streets were wet.", "label": 1}}\n'
    pasted += '{"a": "It rained all night.", "b": "The streets were wet in the morning.", "label": 0}\n'
    box = page.get_by_label("…or paste pairs (CSV with the header a,b,label, or JSON lines)")
    box.fill(pasted)
    runs = page.evaluate("window.__nsp.runs")
    box.press("Control+Enter")  # commit the text before drawing, or the draw may run without it
    harness.wait_idle(page, runs, 60_000)
    _click_and_wait(page, page.get_by_role("button", name="Draw the batch"))
    no_exception(page)
    page.get_by_text("Checked against autograd").first.wait_for(state="visible", timeout=30_000)
    _click_and_wait(page, page.get_by_role("button", name="Take one SGD step on the NSP head"))
    no_exception(page)
    steps = page.locator('[data-testid="stMetric"]').filter(has_text="steps taken")
    assert steps.locator('[data-testid="stMetricValue"]').inner_text().strip() == "1"
    page.wait_for_timeout(300)  # give an injected onerror handler time to fire
    assert page.dialogs == [] and page.locator("img[src=x]").count() == 0
    save_full_screenshot(page, ARTIFACTS / "batch.png")


def test_why_this_answer_section_opens(page):
    charts_before = page.locator('[data-testid="stPlotlyChart"]').count()
    runs = page.evaluate("window.__nsp.runs")
    page.get_by_text("Explain this pair", exact=True).click()
    harness.wait_idle(page, runs, 120_000)
    page.get_by_text("not an explanation by themselves").wait_for(timeout=60_000)
    assert page.locator('[data-testid="stPlotlyChart"]').count() >= charts_before + 4  # grid, bars, head, rollout
    runs = page.evaluate("window.__nsp.runs")
    page.get_by_text("Occlusion (delete each word)", exact=True).click()
    harness.wait_idle(page, runs, 120_000)
    page.locator(".nsp-heat").first.wait_for(timeout=60_000)
    assert "milk" in page.locator(".nsp-heat").first.inner_text()
    no_exception(page)
