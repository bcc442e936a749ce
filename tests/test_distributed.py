"""torchrun with 2 CPU processes (gloo) trains exactly what one process trains at the same global batch."""

import json
import os
import subprocess
import sys

import pytest
from conftest import ROOT
from test_cli_train import synthetic_corpus  # noqa: F401 - the in-process run uses the same corpus
from test_training import tiny_config, topic_corpus

from explorer.cli import main
from explorer.training import StepEvent, Trainer
from explorer.training.config import TrainConfigError
from explorer.training.distributed import World

STEPS, BATCH = 4, 8


def train_args(tiny_bert_dir, out, pairs_log, *extra):
    return [
        "train", "--model", str(tiny_bert_dir), "--train", "full", "--steps", str(STEPS),
        "--batch-size", str(BATCH), "--lr", "2e-3", "--dropout", "0", "--max-length", "16",
        "--mode", "sentences", "--eval-every", "2", "--eval-pairs", "16", "--device", "cpu", "--bf16", "off",
        "--freeze-word-embeddings", "--seed", "5", "--no-time-limit", "--json", "--out", str(out),
        "--pairs-log", str(pairs_log), *extra,
    ]  # fmt: skip


def torchrun(args, tmp_path, processes=2):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}",
        str(ROOT / "tests" / "distributed_entry.py"), *args,
    ]  # fmt: skip
    return subprocess.run(command, check=False, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=240)


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_two_gloo_processes_train_what_one_process_trains(tiny_bert_dir, tmp_path, capsys):
    done = torchrun(train_args(tiny_bert_dir, tmp_path / "ddp", tmp_path / "ddp-pairs"), tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    log = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    start = log[0]
    assert start["kind"] == "start" and start["world_size"] == 2
    assert start["batch_per_rank"] == BATCH // 2 and start["global_batch"] == BATCH
    assert [e["kind"] for e in log].count("start") == 1  # one log for the run: rank 0's
    ddp_losses = [e["loss"] for e in log if e["kind"] == "step"]
    assert [e["step"] for e in log if e["kind"] == "eval"] == [0, 2, 4]

    assert main(train_args(tiny_bert_dir, tmp_path / "one", tmp_path / "one-pairs")) == 0
    single = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    single_losses = [e["loss"] for e in single if e["kind"] == "step"]
    assert len(ddp_losses) == len(single_losses) == STEPS
    assert ddp_losses == pytest.approx(single_losses, abs=1e-4)
    assert ddp_losses[-1] != pytest.approx(ddp_losses[0], abs=1e-3)  # it trained: the loss moved

    # The ranks' pairs: disjoint within each step, and together the single process's batch.
    ranks = [read_jsonl(tmp_path / "ddp-pairs" / f"pairs-rank{r}.jsonl") for r in (0, 1)]
    alone = read_jsonl(tmp_path / "one-pairs" / "pairs-rank0.jsonl")
    assert [len(r) for r in ranks] == [STEPS, STEPS]
    for step in range(STEPS):
        shares = [r[step]["pairs"] for r in ranks]
        assert all(r[step]["step"] == step + 1 for r in ranks)
        assert [len(s) for s in shares] == [BATCH // 2] * 2
        keys = [{(tuple(p["a_ids"]), tuple(p["b_ids"])) for p in share} for share in shares]
        assert not keys[0] & keys[1], f"step {step + 1}: a pair was trained on by both ranks"
        assert sorted(p["index"] for s in shares for p in s) == list(range(BATCH))
        assert shares[0] + shares[1] == alone[step]["pairs"]

    # Rank 0's checkpoint is an ordinary model folder.
    assert main(["score", "The bus was late.", "The train was early.", "--model", str(tmp_path / "ddp"), "--json"]) == 0
    assert sum(json.loads(capsys.readouterr().out)["probabilities"].values()) == pytest.approx(1.0)


def test_a_batch_the_processes_cannot_split_is_refused_cleanly(tiny_bert_dir, tmp_path):
    done = torchrun(train_args(tiny_bert_dir, tmp_path / "x", tmp_path / "p", "--batch-size", "7"), tmp_path)
    assert done.returncode != 0
    assert "error: Batch size 7 is the global batch and must divide evenly among the 2 processes" in done.stderr
    # Each rank exits 2 with that message; torchrun's own agent then reports the failed ranks (with its traceback).
    assert str(ROOT / "explorer") not in done.stderr and "exitcode  : 2" in done.stderr


def test_one_process_has_no_process_group_and_keeps_its_whole_batch():
    assert World().share(32) == slice(0, 32) and not World().distributed
    assert [World(rank, 4).share(32) for rank in range(4)] == [slice(0, 8), slice(8, 16), slice(16, 24), slice(24, 32)]
    with pytest.raises(TrainConfigError, match="multiple of 3"):
        Trainer(tiny_config(batch_size=32), corpus=topic_corpus(), world=World(0, 3))
    trainer = Trainer(tiny_config(steps=2, eval_pairs=16), corpus=topic_corpus())
    assert not any(isinstance(e, StepEvent) and e.step > 2 for e in trainer.run())
    import torch.distributed as dist

    assert not dist.is_initialized()
