"""The Train tab names the task by the chosen pairs (NSP or SOP) and shows the label prior after a run."""

import math

import pytest
from test_training import tiny_config
from test_ui_training import app_env, poll, start_app  # noqa: F401 - app_env is a fixture

from explorer.models import load_model
from explorer.nsp import head_bias_gap
from explorer.training import config as training_config


@pytest.fixture
def sop_preset(app_env, monkeypatch, tiny_bert_dir):  # noqa: F811
    preset = tiny_config(
        base_model=str(tiny_bert_dir), train_what="full", mode="sop", not_next_share=0.3, steps=20, eval_every=10
    )
    monkeypatch.setitem(training_config.PRESETS, "test sop", preset)
    return app_env


def test_a_sentence_order_run_is_named_so_and_shows_the_prior_next_to_the_head(sop_preset):
    at = start_app("test sop")
    assert any(s.value == "Train SOP" for s in at.subheader)
    at.button(key="train_start").click().run()
    run = sop_preset.run_for(at.session_state["train_session_id"])
    poll(at, lambda a: run is not None and not run.active)
    at.run()
    assert run.status == "finished"
    table = at.dataframe[0].value
    assert {"p(in order)", "p(swapped)", "CE if in order"} <= set(table.columns)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["best constant: b₁ − b₀ = log(q / (1 − q))"] == f"{math.log(0.3 / 0.7):+.4f}"
    assert metrics["constant predictor accuracy"] == "70.0%"
    trained = head_bias_gap(load_model(str(run.checkpoint), "cpu").model)
    assert metrics["trained head: b₁ − b₀"] == f"{trained:+.4f}"
