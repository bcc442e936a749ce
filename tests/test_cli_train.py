"""`python -m explorer train`: JSON lines that parse, and a checkpoint that `score` loads."""

import json

import pytest
from test_training import topic_corpus

from explorer.cli import main
from explorer.training import data as training_data

ARGS = [
    "train",
    "--preset",
    "tiny from scratch",
    "--steps",
    "6",
    "--batch-size",
    "8",
    "--max-length",
    "16",
    "--mode",
    "sentences",
    "--eval-every",
    "3",
    "--eval-pairs",
    "16",
    "--device",
    "cpu",
    "--seed",
    "3",
]


@pytest.fixture(autouse=True)
def synthetic_corpus(monkeypatch):
    # The CLI trains on the named corpus; the tests swap in the small synthetic one.
    monkeypatch.setattr(training_data, "load_training_corpus", lambda name: topic_corpus())


def test_json_lines_parse_and_checkpoint_scores(tmp_path, capsys):
    out = tmp_path / "ckpt"
    assert main([*ARGS, "--json", "--out", str(out)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    kinds = [line["kind"] for line in lines]
    assert kinds[0] == "start" and kinds[-1] == "end"
    steps = [line for line in lines if line["kind"] == "step"]
    evals = [line for line in lines if line["kind"] == "eval"]
    assert [s["step"] for s in steps] == [1, 2, 3, 4, 5, 6]
    for s in steps:
        assert {"step", "loss", "lr", "elapsed"} <= set(s) and s["loss"] > 0 and s["elapsed"] >= 0
        assert s["mlm_loss"] is not None  # the preset trains MLM + NSP
    assert [e["step"] for e in evals] == [0, 3, 6]
    for e in evals:
        assert 0 <= e["accuracy"] <= 1 and e["heldout_loss"] > 0
    info = json.loads((out / "training_info.json").read_text())
    assert info["config"]["steps"] == 6 and info["config"]["seed"] == 3 and info["summary"]["steps_done"] == 6

    assert main(["score", "The bus was late.", "The train was early.", "--model", str(out), "--json"]) == 0
    scored = json.loads(capsys.readouterr().out)
    assert scored["model"] == str(out)
    assert sum(scored["probabilities"].values()) == pytest.approx(1.0)


def test_human_output_and_defaults_to_checkpoints_dir(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NSP_EXPLORER_HOME", str(tmp_path))
    assert main(ARGS) == 0
    text = capsys.readouterr().out
    assert "held-out" in text and "finished after 6 steps" in text and "checkpoint saved to" in text
    assert "chance loss ln 2 = 0.6931" in text
    saved = list((tmp_path / "checkpoints").iterdir())
    assert len(saved) == 1 and (saved[0] / "model.safetensors").is_file()


def test_chance_loss_is_labelled_h_q_when_the_share_is_not_half(tmp_path, capsys):
    assert main([*ARGS, "--steps", "1", "--not-next-share", "0.3", "--out", str(tmp_path / "ckpt")]) == 0
    text = capsys.readouterr().out
    assert "chance loss H(q) = 0.6109" in text and "ln 2" not in text


@pytest.mark.parametrize(
    "extra, words",
    [
        (["--steps", "0"], "Steps"),
        (["--lr", "-1"], "positive"),
        (["--max-length", "1000"], "512"),
        (["--batch-size", "0"], "Batch size"),
        (["--train", "everything"], "What to train"),
    ],
)
def test_bad_settings_exit_2_with_a_message(extra, words, capsys):
    assert main([*ARGS, *extra]) == 2
    assert words in capsys.readouterr().err
