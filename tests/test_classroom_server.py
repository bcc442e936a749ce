"""Serving a classroom from several processes: the training-run cap holds across them (explorer/run_slots.py),
and each process can be held to fewer torch threads."""

import subprocess
import sys

import pytest
from test_training import topic_corpus
from test_training_runs import long_config, wait_for

from explorer.run_slots import release_slot, take_slot
from explorer.training.events import StepEvent
from explorer.training.runs import RunManager, RunRefused

TAKE_ONE = """
import sys
from pathlib import Path
from explorer.run_slots import take_slot
print("taken" if take_slot(Path(sys.argv[1]), int(sys.argv[2])) else "refused")
"""


def _other_process_takes(folder, slots: int) -> str:
    done = subprocess.run(
        [sys.executable, "-c", TAKE_ONE, str(folder), str(slots)], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_slots_are_counted_across_processes_and_freed_on_release(tmp_path):
    first = take_slot(tmp_path, 2)
    second = take_slot(tmp_path, 2)
    assert first and second
    assert take_slot(tmp_path, 2) is None
    assert _other_process_takes(tmp_path, 2) == "refused"
    release_slot(first)
    assert _other_process_takes(tmp_path, 2) == "taken"  # and freed again when that process exits
    assert _other_process_takes(tmp_path, 2) == "taken"
    release_slot(second)


def test_two_servers_share_the_cap(tmp_path):
    """Two run managers over one checkpoint folder stand for two server processes of one classroom."""
    one = RunManager(max_runs=1, heartbeat_timeout=60, checkpoint_root=tmp_path)
    two = RunManager(max_runs=1, heartbeat_timeout=60, checkpoint_root=tmp_path)
    corpus = topic_corpus()
    run = one.start("alice", long_config(), corpus=corpus)
    try:
        assert wait_for(lambda: any(isinstance(e, StepEvent) for e in run.events()))
        with pytest.raises(RunRefused, match="limit at once"):
            two.start("bob", long_config(), corpus=corpus)
    finally:
        one.stop("alice")
    assert run.wait(30)
    later = two.start("bob", long_config(), corpus=corpus)
    two.stop("bob")
    assert later.wait(30)


def test_torch_threads_follow_the_environment(monkeypatch):
    import torch

    from explorer.device import THREADS_ENV, limit_threads_from_env

    before = torch.get_num_threads()
    try:
        monkeypatch.setenv(THREADS_ENV, "1")
        assert limit_threads_from_env() == 1 == torch.get_num_threads()
        monkeypatch.setenv(THREADS_ENV, "lots")  # not a number: left as it is
        assert limit_threads_from_env() == 1
    finally:
        torch.set_num_threads(before)
