"""The Batch tab driven headlessly with AppTest: draw, step, reset, bad input, and the shared model untouched."""

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from explorer.batch import example_pairs
from explorer.batch_lesson import start_lesson


def batch_page():
    import os

    from explorer.ui.batch_view import render
    from explorer.ui.resources import cached_model

    render(cached_model(os.environ["NSP_BATCH_TEST_MODEL"], "cpu"), 64)


@pytest.fixture
def page(monkeypatch, tiny_bert_dir):
    monkeypatch.setenv("NSP_BATCH_TEST_MODEL", str(tiny_bert_dir))
    at = AppTest.from_function(batch_page, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    return at


def _metric(at, label):
    return next(m.value for m in at.metric if m.label == label)


def test_draw_step_and_reset(page, tiny):
    assert any("Draw the batch" in i.value for i in page.info)
    page.button(key="batch_draw").click().run()  # sampled pairs, k = 8
    assert not page.exception, page.exception
    lesson = page.session_state["batch_lesson"]
    shared = {name: value.clone() for name, value in lesson.loaded.model.state_dict().items()}
    with torch.no_grad():
        reference = float(lesson.loaded.model(**lesson.batch.inputs, labels=lesson.batch.labels).loss)
    assert lesson.batch.k == 8
    assert float(_metric(page, "batch loss (mean CE)")) == pytest.approx(reference, abs=1e-6)
    assert _metric(page, "steps taken") == "0"
    assert any("Checked against autograd" in s.value for s in page.success)
    assert any("loss.backward()" in c.value for c in page.code)

    page.select_slider(key="batch_lr").set_value(1.0).run()
    page.button(key="batch_step").click().run()
    page.button(key="batch_step").click().run()
    assert not page.exception, page.exception
    assert _metric(page, "steps taken") == "2"
    assert float(_metric(page, "batch loss now")) < float(_metric(page, "batch loss before"))
    # the table, code and gradients above show the stepped head, not a stale report
    assert float(_metric(page, "batch loss (mean CE)")) == pytest.approx(
        float(_metric(page, "batch loss now")), abs=1e-6
    )
    assert any("second batch" in m.value for m in page.markdown)
    assert all(torch.equal(v, shared[n]) for n, v in lesson.loaded.model.state_dict().items())

    page.button(key="batch_reset").click().run()
    assert _metric(page, "steps taken") == "0"
    assert float(_metric(page, "batch loss now")) == pytest.approx(reference, abs=1e-6)


def test_examples_textbook_and_sum(page, tiny):
    page.radio(key="batch_source").set_value("examples").run()
    page.slider(key="batch_k").set_value(5).run()
    page.radio(key="batch_variant").set_value("textbook").run()
    page.button(key="batch_draw").click().run()
    page.radio(key="batch_reduction").set_value("sum").run()
    assert not page.exception, page.exception
    expected = start_lesson(tiny, example_pairs(5, 0), "textbook").report("sum")
    assert float(_metric(page, "sum of CE")) == pytest.approx(float(expected.loss), abs=1e-6)
    assert any(r"\sum_i CE_i" in latex.value for latex in page.latex)
    assert np.isclose(page.session_state["batch_lesson"].report("sum").cross_entropy, expected.cross_entropy).all()
    assert any("no trained masked-LM head" in i.value for i in page.info)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a,b,label\nIt rained.,The streets were wet.,2\n", "label must be 0"),
        ('{"a": "It rained.", "b": "Wet streets."}\n', "needs the keys a, b and label"),
        ("", "Paste some pairs"),
    ],
)
def test_bad_pasted_pairs_show_a_message(page, text, message):
    page.radio(key="batch_source").set_value("file").run()
    page.text_area(key="batch_paste").input(text).run()
    page.button(key="batch_draw").click().run()
    assert not page.exception, page.exception
    assert any(message in e.value.replace("\\", "") for e in page.error), [e.value for e in page.error]


def test_too_many_examples_is_a_message(page):
    page.radio(key="batch_source").set_value("examples").run()
    page.slider(key="batch_k").set_value(64).run()
    page.button(key="batch_draw").click().run()
    assert not page.exception
    assert any("classroom examples" in e.value for e in page.error)


def test_the_app_has_a_batch_tab_after_the_explorer(app_page):
    labels = [tab.label for tab in app_page.tabs]
    assert labels[:2] == ["Explorer", "Batch"]


def test_pasted_and_uploaded_pairs_survive_choosing_another_source(page):
    # Streamlit drops a hidden widget's value and empties a hidden file box: the tab keeps both for their return.
    pasted = "a,b,label\nIt rained.,The streets were wet.,0\nIt rained.,Penguins swim.,1\n"
    page.radio(key="batch_source").set_value("file").run()
    page.text_area(key="batch_paste").input(pasted).run()
    page.file_uploader(key="batch_upload").upload("three.csv", pasted.encode() + b"A dog barked.,It woke us.,0\n").run()
    page.radio(key="batch_source").set_value("examples").run()
    page.radio(key="batch_source").set_value("file").run()
    assert not page.exception, page.exception
    assert page.text_area(key="batch_paste").value == pasted
    assert page.text_area(key="batch_paste").proto.set_value  # sent to the browser, which would draw it empty
    assert any("Using three.csv, uploaded earlier" in c.value.replace("\\", "") for c in page.caption)
    page.button(key="batch_draw").click().run()
    assert page.session_state["batch_lesson"].batch.k == 3  # the file, which wins over the pasted text
    # A batch drawn from one source stays on screen, said to be so, until the next one is drawn.
    page.radio(key="batch_source").set_value("examples").run()
    assert any("This is the batch drawn before" in c.value for c in page.caption)
    assert page.session_state["batch_lesson"].batch.k == 3
