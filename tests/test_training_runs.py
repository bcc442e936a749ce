"""The run manager: one run per session, a server-wide cap, and abandoned runs that stop themselves."""

import time

import pytest

from explorer.training_runs import RunManager, RunRefused
from test_training import tiny_config, topic_corpus


def long_config(**overrides):
    return tiny_config(steps=100_000, eval_every=10_000, eval_pairs=16, **overrides)


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_cap_refuses_a_second_session_until_the_first_run_stops(tmp_path):
    manager = RunManager(max_runs=1, heartbeat_timeout=60, checkpoint_root=tmp_path)
    corpus = topic_corpus()
    first = manager.start("alice", long_config(), corpus=corpus)
    try:
        assert wait_for(lambda: any(e["kind"] == "step" for e in first.events()))
        with pytest.raises(RunRefused, match="limit at once"):
            manager.start("bob", long_config(), corpus=corpus)
        with pytest.raises(RunRefused, match="already going in this browser tab"):
            manager.start("alice", long_config(), corpus=corpus)
        assert manager.active_runs() == 1
    finally:
        manager.stop("alice")
    assert first.wait(30) and first.status == "stopped"
    assert first.checkpoint is not None and (first.checkpoint / "model.safetensors").is_file()
    second = manager.start("bob", tiny_config(steps=3, eval_pairs=16), corpus=corpus)
    assert second.wait(30) and second.status == "finished"
    assert [e["step"] for e in second.events() if e["kind"] == "step"] == [1, 2, 3]


def test_cap_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("NSP_EXPLORER_MAX_RUNS", "3")
    monkeypatch.setenv("NSP_EXPLORER_RUN_TIMEOUT", "12.5")
    manager = RunManager()
    assert manager.max_runs == 3 and manager.heartbeat_timeout == 12.5
    monkeypatch.setenv("NSP_EXPLORER_MAX_RUNS", "lots")
    assert RunManager().max_runs == 1  # a typo falls back to the default


def test_run_without_heartbeat_is_stopped_and_not_saved(tmp_path):
    manager = RunManager(max_runs=1, heartbeat_timeout=0.5, checkpoint_root=tmp_path)
    run = manager.start("gone", long_config(), corpus=topic_corpus())
    assert run.wait(30), "an abandoned run must stop by itself"
    assert run.status == "abandoned" and "stopped checking in" in run.message
    assert run.checkpoint is None and manager.active_runs() == 0


def test_heartbeats_keep_a_run_alive_and_reset_forgets_it(tmp_path):
    manager = RunManager(max_runs=1, heartbeat_timeout=0.5, checkpoint_root=tmp_path)
    run = manager.start("here", long_config(), corpus=topic_corpus())
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        manager.heartbeat("here")
        time.sleep(0.1)
    assert run.active
    manager.reset("here")
    assert run.wait(30) and manager.run_for("here") is None


def test_setup_failure_is_reported_not_raised(tmp_path):
    manager = RunManager(max_runs=1, checkpoint_root=tmp_path)
    run = manager.start("small", tiny_config(), corpus=topic_corpus(n_docs=3))
    assert run.wait(30) and run.status == "error" and "at least 4" in run.message
    assert manager.active_runs() == 0
