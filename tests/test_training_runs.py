"""The run manager: one run per session, a server-wide cap, and abandoned runs that stop themselves.

Every run here trains in a real child process (explorer.training.worker), as in the app.
"""

import json
import multiprocessing
import os
import time

import pytest
import torch
from test_training import tiny_config, topic_corpus

from explorer.models import LoadedModel, load_model
from explorer.nsp import score_pair
from explorer.training import Trainer, worker
from explorer.training import runs as training_runs
from explorer.training.events import EndEvent, EvalEvent, StartEvent, StepEvent
from explorer.training.runs import FORGET_AFTER_S, RunManager, RunRefused


def long_config(**overrides):
    return tiny_config(steps=100_000, eval_every=10_000, eval_pairs=16, **overrides)


def wait_for(predicate, timeout=300.0):
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
        assert wait_for(lambda: any(isinstance(e, StepEvent) for e in first.events()))
        with pytest.raises(RunRefused, match="limit at once"):
            manager.start("bob", long_config(), corpus=corpus)
        with pytest.raises(RunRefused, match="already going in this browser tab"):
            manager.start("alice", long_config(), corpus=corpus)
        assert manager.active_runs() == 1
    finally:
        manager.stop("alice")
    assert first.wait(300) and first.status == "stopped"
    assert first.checkpoint is not None and (first.checkpoint / "model.safetensors").is_file()
    second = manager.start("bob", tiny_config(steps=3, eval_pairs=16), corpus=corpus)
    assert second.wait(300) and second.status == "finished"
    assert [e.step for e in second.events() if isinstance(e, StepEvent)] == [1, 2, 3]


def test_cap_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("NSP_EXPLORER_MAX_RUNS", "3")
    monkeypatch.setenv("NSP_EXPLORER_RUN_TIMEOUT", "12.5")
    monkeypatch.setenv("NSP_EXPLORER_MAX_CHECKPOINTS", "5")
    manager = RunManager()
    assert manager.max_runs == 3 and manager.heartbeat_timeout == 12.5 and manager.max_checkpoints == 5
    assert RunManager(max_checkpoints=7).max_checkpoints == 7
    monkeypatch.setenv("NSP_EXPLORER_MAX_RUNS", "lots")
    assert RunManager().max_runs == 1  # a typo falls back to the default


def test_run_without_heartbeat_is_stopped_and_not_saved(tmp_path):
    manager = RunManager(max_runs=1, heartbeat_timeout=0.5, checkpoint_root=tmp_path)
    run = manager.start("gone", long_config(), corpus=topic_corpus())
    assert run.wait(300), "an abandoned run must stop by itself"
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
    assert run.wait(300) and manager.run_for("here") is None
    assert run.checkpoint is None and list(tmp_path.iterdir()) == []  # the stopped run left no orphan checkpoint
    assert manager.active_runs() == 0


def test_reset_while_the_checkpoint_is_saved_still_deletes_it(tmp_path, monkeypatch):
    manager = RunManager(max_runs=1, checkpoint_root=tmp_path)
    real_saved = RunManager._saved

    def saved_then_reset(self, run, folder):
        real_saved(self, run, folder)
        manager.reset("racer")  # the page's Reset arrives after the child saved, while the run is still "running"

    monkeypatch.setattr(RunManager, "_saved", saved_then_reset)
    run = manager.start("racer", tiny_config(steps=2, eval_pairs=16), corpus=topic_corpus())
    assert run.wait(300) and run.status == "finished"
    assert run.checkpoint is None and list(tmp_path.iterdir()) == []


def test_reset_and_forgetting_delete_only_the_runs_own_checkpoint(tmp_path):
    manager = RunManager(max_runs=1, checkpoint_root=tmp_path)
    deleted = []
    manager.on_checkpoint_deleted(deleted.append)
    manager.on_checkpoint_deleted(deleted.append)  # the same listener twice: told once
    (tmp_path / "cli-20240101-000000").mkdir()  # the CLI's checkpoints are the user's: never deleted
    (tmp_path / "notes.txt").write_text("mine")
    corpus = topic_corpus()
    first = manager.start("first", tiny_config(steps=2, eval_pairs=16), corpus=corpus)
    assert first.wait(300) and first.checkpoint.is_dir()
    first_folder = first.checkpoint
    manager.reset("first")
    assert not first_folder.exists() and first.checkpoint is None

    second = manager.start("second", tiny_config(steps=2, eval_pairs=16), corpus=corpus)
    assert second.wait(300) and second.checkpoint.is_dir()
    second_folder = second.checkpoint
    second.last_heartbeat -= FORGET_AFTER_S + 1  # its session went quiet long ago
    third = manager.start("third", tiny_config(steps=2, eval_pairs=16), corpus=corpus)
    assert manager.run_for("second") is None and not second_folder.exists()  # forgotten as stale, deleted
    assert third.wait(300)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["cli-20240101-000000", "notes.txt", third.run_id])
    assert deleted == [first_folder, second_folder]  # what a model cache must drop (explorer/ui/resources.py)


def test_only_the_newest_checkpoints_are_kept(tmp_path):
    manager = RunManager(max_runs=1, checkpoint_root=tmp_path, max_checkpoints=2)
    for age, name in enumerate(["run-new", "run-old", "run-older"], start=1):
        (tmp_path / name).mkdir()
        os.utime(tmp_path / name, (time.time() - 100 * age,) * 2)
    (tmp_path / "cli-ancient").mkdir()
    os.utime(tmp_path / "cli-ancient", (0, 0))
    run = manager.start("s", tiny_config(steps=2, eval_pairs=16), corpus=topic_corpus())
    assert run.wait(300) and run.checkpoint.is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["cli-ancient", "run-new", run.run_id])


class FailingAtTheEnd(Trainer):
    """A trainer whose model breaks at the end (module level: the child process imports it by name)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)

        def broken_eval():
            raise RuntimeError("eval() broke")

        # Trainer.run calls model.eval() for the held-out set and, outside its try, once more at the end.
        self.model.eval = broken_eval


def test_a_failure_after_the_loop_still_ends_the_run_and_frees_the_slot(tmp_path, monkeypatch):
    monkeypatch.setattr(training_runs, "Trainer", FailingAtTheEnd)  # the class the manager hands its child
    manager = RunManager(max_runs=1, checkpoint_root=tmp_path)
    corpus = topic_corpus()
    run = manager.start("unlucky", tiny_config(steps=2, eval_pairs=16), corpus=corpus)
    assert run.wait(300) and run.status == "error" and "eval() broke" in run.message
    assert isinstance(run.events()[-1], EndEvent) and run.events()[-1].status == "error"
    assert manager.active_runs() == 0
    monkeypatch.setattr(training_runs, "Trainer", Trainer)
    other = manager.start("next", tiny_config(steps=2, eval_pairs=16), corpus=corpus)  # the slot is free
    assert other.wait(300) and other.status == "finished"


def test_setup_failure_is_reported_not_raised(tmp_path):
    manager = RunManager(max_runs=1, checkpoint_root=tmp_path)
    run = manager.start("small", tiny_config(), corpus=topic_corpus(n_docs=3))
    assert run.wait(300) and run.status == "error" and "at least 4" in run.message
    assert manager.active_runs() == 0


PROBE_ENV = "NSP_TEST_CHILD_PROBE"  # where the child writes what it saw (the run copies the server's environment)
PROBE_PAIR = ("apple pear plum grape lemon", "bus train taxi tram plane")


class ProbingTrainer(Trainer):
    """Trains as usual, then writes its own process id, thread count, niceness and score of PROBE_PAIR to a file."""

    def run(self, stop_event=None):
        yield from super().run(stop_event)
        mine = LoadedModel(self.model, self.tokenizer, "child", "child", self.device, head_trained=True)
        result = score_pair(mine, *PROBE_PAIR)
        probe = {
            "pid": os.getpid(),
            "threads": torch.get_num_threads(),
            "nice": os.nice(0),
            "logits": result.logits.tolist(),
        }
        with open(os.environ[PROBE_ENV], "w") as handle:
            json.dump(probe, handle)


def test_the_child_trains_in_order_and_its_model_comes_back_exactly(tmp_path, monkeypatch, tiny_bert_dir):
    probe = tmp_path / "probe.json"
    monkeypatch.setenv(PROBE_ENV, str(probe))
    monkeypatch.setattr(training_runs, "Trainer", ProbingTrainer)
    manager = RunManager(max_runs=1, checkpoint_root=tmp_path / "checkpoints")
    config = tiny_config(base_model=str(tiny_bert_dir), train_what="full", steps=6, eval_every=3, eval_pairs=16)
    run = manager.start("exact", config, corpus=topic_corpus())
    assert run.wait(300) and run.status == "finished", run.message
    events = run.events()
    assert isinstance(events[0], StartEvent) and isinstance(events[-1], EndEvent)
    assert [e.step for e in events if isinstance(e, StepEvent)] == [1, 2, 3, 4, 5, 6]
    assert [e.step for e in events if isinstance(e, EvalEvent)] == [0, 3, 6]
    steps_and_evals = [(e.step, isinstance(e, EvalEvent)) for e in events if isinstance(e, (StepEvent, EvalEvent))]
    assert steps_and_evals == sorted(steps_and_evals)  # each evaluation right after its step
    seen = json.loads(probe.read_text())
    assert seen["pid"] != os.getpid()
    # Every core, below the page's priority: the class's edits are scheduled first.
    assert seen["threads"] == (os.cpu_count() or 1)
    assert seen["nice"] == min(19, os.nice(0) + worker.NICENESS)
    back = score_pair(load_model(str(run.checkpoint), "cpu"), *PROBE_PAIR)
    assert back.logits.tolist() == pytest.approx(seen["logits"], abs=1e-6)


def test_a_killed_child_ends_the_run_and_frees_the_slot(tmp_path):
    manager = RunManager(max_runs=1, heartbeat_timeout=60, checkpoint_root=tmp_path)
    run = manager.start("elsewhere", long_config(), corpus=topic_corpus())
    assert wait_for(lambda: any(isinstance(e, StepEvent) for e in run.events()), timeout=300)
    children = [p for p in multiprocessing.active_children() if p.name == f"nsp-train-{run.run_id}"]
    assert len(children) == 1 and children[0].pid != os.getpid()
    children[0].kill()
    assert run.wait(300) and run.status == "error" and "ended unexpectedly" in run.message
    assert manager.active_runs() == 0 and list(tmp_path.iterdir()) == []
    other = manager.start("next", tiny_config(steps=2, eval_pairs=16), corpus=topic_corpus())  # the slot is free
    assert other.wait(300) and other.status == "finished"
