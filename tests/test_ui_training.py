"""AppTest of the Train tab: start a short run on a tiny model, watch it update, stop, use the model."""

import functools
import time

import pytest
from streamlit.testing.v1 import AppTest
from test_training import tiny_config, topic_corpus

from explorer.training import config as training_config
from explorer.training import runs as training_runs
from explorer.training.events import StepEvent
from explorer.training.runs import RunManager


def train_tab():
    from explorer.models import load_model
    from explorer.ui import training_view

    training_view.render(load_model, "cpu")


@pytest.fixture
def app_env(monkeypatch, tmp_path, tiny_bert_dir):
    monkeypatch.setenv("NSP_EXPLORER_HOME", str(tmp_path))
    manager = RunManager(max_runs=1, heartbeat_timeout=60, checkpoint_root=tmp_path / "checkpoints")
    # The run trains in a child process, which a monkeypatched corpus loader would not reach: the page's
    # Start hands the child the synthetic corpus itself.
    monkeypatch.setattr(manager, "start", functools.partial(manager.start, corpus=topic_corpus()))
    monkeypatch.setattr(training_runs, "_manager", manager)
    # A preset on the tiny saved model, so a run takes seconds; a long one for the Stop test.
    monkeypatch.setitem(
        training_config.PRESETS,
        "test tiny",
        tiny_config(
            base_model=str(tiny_bert_dir),
            train_what="full",
            steps=40,
            eval_every=10,
            eval_pairs=32,
            lr=2e-3,
        ),
    )
    monkeypatch.setitem(
        training_config.PRESETS,
        "test long",
        tiny_config(
            base_model=str(tiny_bert_dir),
            train_what="full",
            steps=100_000,
            eval_every=20,
            eval_pairs=32,
        ),
    )
    return manager


def start_app(preset: str) -> AppTest:
    at = AppTest.from_function(train_tab, default_timeout=60)
    at.session_state["sentence_a"] = "apple pear plum grape lemon"
    at.session_state["sentence_b"] = "bus train taxi tram plane"
    at.run()
    at.selectbox(key="train_preset").set_value(preset).run()
    assert not at.exception
    return at


def poll(at: AppTest, until, timeout: float = 300.0) -> AppTest:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        at.run()  # what the fragment's run_every does in a browser
        assert not at.exception, at.exception
        if until(at):
            return at
        time.sleep(0.2)
    raise AssertionError("the page never reached the expected state")


def test_short_run_updates_the_chart_and_lands_in_the_model_list(app_env):
    at = start_app("test tiny")
    assert at.number_input(key="train_steps").value == 40  # the preset filled the settings
    at.button(key="train_start").click().run()
    run = app_env.run_for(at.session_state["train_session_id"])
    assert run is not None
    poll(at, lambda a: any(isinstance(e, StepEvent) for e in run.events()))
    assert len(at.get("plotly_chart")) == 2
    poll(at, lambda a: not run.active)
    assert run.status == "finished"
    at.run()
    models = at.session_state["trained_models"]
    assert len(models) == 1 and models[0][1] == str(run.checkpoint)
    assert any("Held-out accuracy" in m.label for m in at.metric)
    table = at.dataframe[0].value
    assert list(table["model"]) == ["before training", "after training"]
    assert table["p(IsNext)"].iloc[0] != table["p(IsNext)"].iloc[1]  # training changed the model's answer
    assert len(at.get("download_button")) == 2


def test_stop_stops_and_keeps_the_curve(app_env):
    at = start_app("test long")
    at.button(key="train_start").click().run()
    run = app_env.run_for(at.session_state["train_session_id"])
    poll(at, lambda a: sum(isinstance(e, StepEvent) for e in run.events()) >= 3)
    at.button(key="train_stop").click().run()
    assert run.wait(300) and run.status == "stopped"
    at.run()
    assert any("stopped" in s.value.lower() for s in at.success)
    assert len(at.get("plotly_chart")) == 2  # the curve so far is still drawn
    checkpoint = run.checkpoint
    assert at.session_state["trained_models"][0][1] == str(checkpoint)
    at.button(key="train_reset").click().run()
    assert app_env.run_for(at.session_state["train_session_id"]) is None
    assert not checkpoint.exists() and at.session_state["trained_models"] == []  # deleted, and out of the list


def test_second_session_is_refused_while_the_cap_is_reached(app_env):
    first = start_app("test long")
    first.button(key="train_start").click().run()
    second = start_app("test tiny")
    second.button(key="train_start").click().run()
    assert any("limit at once" in w.value for w in second.warning)
    app_env.stop(first.session_state["train_session_id"])
    app_env.run_for(first.session_state["train_session_id"]).wait(300)


def test_scratch_heads_divide_any_hidden_size_and_scratch_settings_survive_switching(app_env):
    from explorer.training import scratch_heads

    assert [scratch_heads(h) for h in (16, 64, 128, 208, 336, 768)] == [1, 1, 2, 2, 4, 12]
    at = start_app("test tiny")
    at.selectbox(key="train_what").set_value("scratch").run()
    at.number_input(key="train_scratch_hidden").set_value(208).run()
    at.number_input(key="train_scratch_layers").set_value(3).run()
    assert not at.error and not at.button(key="train_start").disabled
    at.selectbox(key="train_what").set_value("full").run()  # the scratch settings are not drawn now
    at.selectbox(key="train_what").set_value("scratch").run()
    assert at.number_input(key="train_scratch_hidden").value == 208
    assert at.number_input(key="train_scratch_layers").value == 3


def test_bad_setting_disables_start_with_a_message(app_env):
    at = start_app("test tiny")
    assert at.number_input(key="train_label_smoothing").value == 0.0  # a declared setting gets its widget
    at.number_input(key="train_lr").set_value(0.0).run()
    assert any("positive" in e.value for e in at.error)
    assert at.button(key="train_start").disabled


def test_in_the_full_app_the_trained_model_is_then_used_by_the_explorer(app_env):
    """Train in the Train tab, pick the new model in the sidebar, see the explorer's numbers change."""
    from conftest import ROOT

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    before = next(m.value for m in at.metric if m.label == "p(IsNext)")
    at.selectbox(key="train_preset").set_value("test tiny").run()
    at.button(key="train_start").click().run()
    assert not at.exception
    poll(at, lambda at: any(o.startswith("trained: ") for o in at.selectbox(key="model_choice").options))
    trained = next(o for o in at.selectbox(key="model_choice").options if o.startswith("trained: "))
    at.selectbox(key="model_choice").select(trained).run()
    assert not at.exception and not at.error
    assert next(m.value for m in at.metric if m.label == "p(IsNext)") != before
    # Reset deletes the checkpoint: the model leaves the sidebar's list and the page falls back without an error.
    at.button(key="train_reset").click().run()
    assert not at.exception and not at.error
    assert not any(o.startswith("trained: ") for o in at.selectbox(key="model_choice").options)


def test_a_deleted_checkpoint_leaves_the_model_cache(tiny_bert_dir, tmp_path):
    """The server-wide model cache drops a trained model when its checkpoint is deleted (Reset, or the run
    forgotten), so a session's model does not stay in memory after it."""
    import shutil

    from explorer.ui.resources import cached_model, forget_cached_model

    folder = tmp_path / "run-deleted"
    shutil.copytree(tiny_bert_dir, folder)
    first = cached_model(str(folder), "cpu")
    assert cached_model(str(folder), "cpu") is first  # cached
    forget_cached_model(folder)
    assert cached_model(str(folder), "cpu") is not first  # loaded again: the old one was dropped


def test_a_closed_session_releases_its_run_and_checkpoint(app_env, monkeypatch):
    """When a browser session has ended for good, its run is forgotten and its checkpoint deleted at once,
    not an hour later: nobody can reach them again."""
    from explorer.ui import session_end

    closed: list[bool] = []
    ends = session_end.SessionEnds(lambda session_id: not closed, window=0.0)
    monkeypatch.setattr(session_end, "_session_ends", ends)
    monkeypatch.setattr(session_end, "_server_running", lambda: True)  # AppTest has no runtime of its own
    at = start_app("test tiny")
    session_id = at.session_state["train_session_id"]
    at.button(key="train_start").click().run()
    run = app_env.run_for(session_id)
    poll(at, lambda a: not run.active)
    at.run()
    checkpoint = run.checkpoint
    assert checkpoint is not None and checkpoint.exists()
    assert ends.check() == [] and app_env.run_for(session_id) is run  # a live session keeps its run
    closed.append(True)  # the tab closed, and the reconnect window (0 s here) passed
    assert len(ends.check()) == 1  # this one session ended (its Streamlit session id)
    assert app_env.run_for(session_id) is None
    assert not checkpoint.exists()


def test_the_progress_line_of_a_run_fitted_to_its_minute_follows_the_clock():
    # Before its plan the step total is the preset's placeholder (600): the bar counts time instead, and after
    # the plan the time left is the limit's, not a pace that swings from step to step.
    from explorer.training.events import EndEvent, PlanEvent, StartEvent
    from explorer.ui.training_view import _progress

    start = StartEvent(600, "cpu", False, 10, 10, 4, 2, 16, chance_loss=0.693)
    early = [start, StepEvent(step=3, loss=0.7, lr=1e-4, elapsed=15.0, steps_per_s=0.06)]
    share, text = _progress(early, fit_seconds=60.0)
    assert share == pytest.approx(0.25) and "measuring this machine's speed" in text and "600" not in text
    planned = [*early, PlanEvent(steps=40, evaluations=2, steps_per_s=0.7, seconds_per_eval=2.0)]
    planned.append(StepEvent(step=20, loss=0.6, lr=1e-4, elapsed=36.0, steps_per_s=0.55))
    assert _progress(planned, fit_seconds=60.0) == (0.5, "step 20 / 40 · about 24 s left of 60 s")
    planned.append(StepEvent(step=40, loss=0.6, lr=1e-4, elapsed=59.0, steps_per_s=0.68))
    assert "the last held-out evaluation" in _progress(planned, fit_seconds=60.0)[1]
    planned.append(EndEvent(step=40, status="finished", elapsed=62.0))
    assert _progress(planned, fit_seconds=60.0) == (1.0, "Run finished at step 40 / 40.")
    # A run with a fixed number of steps still shows its pace.
    assert "steps/s" in _progress(early)[1] and "/ 600" in _progress(early)[1]
