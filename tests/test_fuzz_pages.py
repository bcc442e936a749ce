"""Each tab fed the worst inputs the property tests found (bench/results/fuzzing.md): never an exception box.

Explorer, Sample pairs, Train and Evaluate run on the tiny saved BERT, so every case takes a second or two.
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest
from test_fuzz_corpus import WORST_UPLOADS
from test_fuzz_eval_file import WORST_FILES
from test_ui_training import app_env, start_app  # noqa: F401 - app_env is a fixture used below

from explorer import training

TIMEOUT = 120


def explorer_tab(model_dir: str) -> None:
    import streamlit as st

    from explorer.ui import explorer_view
    from explorer.ui.resources import cached_model

    explorer_view.render(cached_model(model_dir, "cpu"), st.session_state.get("fuzz_max_length", 128))


def sample_tab(model_dir: str) -> None:
    from explorer.ui import sampling_view
    from explorer.ui.resources import cached_model

    sampling_view.render(lambda: cached_model(model_dir, "cpu"), 16)


def eval_tab(model_dir: str) -> None:
    from explorer.ui import eval_view
    from explorer.ui.resources import cached_model

    eval_view.render(cached_model(model_dir, "cpu"), 64)


def app(page, model_dir) -> AppTest:
    at = AppTest.from_function(page, args=(str(model_dir),), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at


# Text the encoder property met at its edges: nothing left after the tokenizer, special tokens typed as
# text, markup, the longest text a box takes, scripts without a WordPiece entry.
WORST_PAIRS = [
    ("\x00\x01\x02", "It purred."),
    ("\u200b\u200b", "e\u0301" * 50),
    ("[SEP] [CLS] [MASK]", "<script>alert(1)</script> $\\frac{1}{0}$ **bold**"),
    ("x" * 100_000, "🙂" * 40 + " مرحبا 東京"),
]


@pytest.mark.parametrize("max_length", [5, 512])
def test_explorer_tab_with_the_worst_pairs(tiny_bert_dir, max_length):
    at = app(explorer_tab, tiny_bert_dir)
    at.session_state["fuzz_max_length"] = max_length
    for a, b in WORST_PAIRS:
        at.text_area(key="sentence_a").set_value(a)
        at.text_area(key="sentence_b").set_value(b).run()
        assert not at.exception, (a[:20], b[:20], at.exception)
        assert at.error or any(m.label == "p(IsNext)" for m in at.metric)


def test_sample_tab_with_the_worst_uploads(tiny_bert_dir):
    at = app(sample_tab, tiny_bert_dir)
    at.radio(key="sample_corpus_choice").set_value("Upload a .txt file").run()
    for number, data in enumerate(WORST_UPLOADS):
        at.file_uploader(key="sample_upload").upload(f"worst-{number}.txt", data, "text/plain").run()
        assert not at.exception, (number, at.exception)
        if at.error:  # refused: the page keeps the built-in corpus, which other tests sample from
            assert "cannot be used" in at.error[0].value
            continue
        for mode in ("bert", "sentences", "sop"):
            at.radio(key="sample_mode").set_value(mode).run()
            at.button(key="sample_button").click().run()
            assert not at.exception, (number, mode, at.exception)


def test_evaluate_tab_with_the_worst_files(tiny_bert_dir):
    at = app(eval_tab, tiny_bert_dir)
    for number, data in enumerate(WORST_FILES):
        at.file_uploader(key="eval_upload").upload(f"worst-{number}.csv", data, "text/csv").run()
        assert not at.exception, (number, at.exception)
        if at.error:
            assert len(at.error) == 1 and "worst" in at.error[0].value
            continue
        at.button(key="eval_run").click().run()
        assert not at.exception and any(m.label == "accuracy" for m in at.metric), number


def test_train_tab_with_the_worst_settings(app_env):  # noqa: F811 - the fixture imported above
    at = start_app("test tiny")
    for key, value in [("train_lr", 0.0), ("train_max_length", 8), ("train_batch_size", 1024), ("train_seed", 0)]:
        at.number_input(key=key).set_value(value).run()
        assert not at.exception, (key, at.exception)
    assert any("positive" in e.value for e in at.error) and at.button(key="train_start").disabled


def test_a_run_stopped_at_step_0_says_it_stopped(app_env):  # noqa: F811
    at = start_app("test long")
    session = at.session_state["train_session_id"]
    run = app_env.start(session, training.PRESETS["test long"])
    app_env.stop(session)  # before the first step: the model is still loading
    assert run.wait(60) and run.status == "stopped"
    at.run()
    assert not at.exception
    status = at.get("progress")[0].proto.text
    assert status == f"Run stopped at step 0 / {training.PRESETS['test long'].steps}.", status
    assert not any("Measuring" in p.proto.text for p in at.get("progress"))
