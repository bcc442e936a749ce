"""`python -m explorer batch`: the same numbers as the library, and clear errors with exit code 2."""

import json

import torch

from explorer.batch import example_pairs
from explorer.batch_lesson import start_lesson
from explorer.cli import main


def _run(capsys, *args):
    code = main(["batch", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_json_matches_the_library_and_steps_lower_the_loss(capsys, tiny_bert_dir, tiny):
    code, out, _ = _run(
        capsys,
        "--from",
        "examples",
        "--k",
        "6",
        "--seed",
        "4",
        "--model",
        str(tiny_bert_dir),
        "--device",
        "cpu",
        "--steps",
        "3",
        "--lr",
        "0.5",
        "--json",
    )
    assert code == 0
    data = json.loads(out)
    batch = start_lesson(tiny, example_pairs(6, 4)).batch
    with torch.no_grad():
        reference = float(tiny.model(**batch.inputs, labels=batch.labels).loss)
    assert abs(data["loss"] - reference) < 1e-6 and data["k"] == 6
    assert [s["step"] for s in data["steps"]] == [0, 1, 2, 3]
    assert data["steps"][-1]["loss"] < data["steps"][0]["loss"]
    assert data["autograd_max_difference"] < 1e-6
    assert "note" in data["mlm_nsp"]


def test_text_output_shows_the_arithmetic(capsys, tiny_bert_dir, tmp_path):
    path = tmp_path / "pairs.jsonl"
    path.write_text(
        '{"a": "It rained.", "b": "The streets were wet.", "label": 0}\n'
        '{"a": "I like tea.", "b": "Volcanoes erupt.", "label": 1}\n'
    )
    code, out, _ = _run(capsys, "--from", str(path), "--model", str(tiny_bert_dir), "--reduction", "sum")
    assert code == 0
    assert "loss (sum) = sum of CE" in out and "Volcanoes" in out


def test_bad_input_exits_2_with_a_message(capsys, tiny_bert_dir, tmp_path):
    bad_label = tmp_path / "bad.csv"
    bad_label.write_text("a,b,label\nOne.,Two.,2\n")
    cases = [
        (["--k", "65"], "batch size k"),
        (["--from", "examples", "--k", "0"], "batch size k"),
        (["--from", str(bad_label)], "label must be 0"),
        (["--from", str(tmp_path / "missing.csv")], "Cannot read"),
        (["--steps", "-1"], "--steps"),
    ]
    for args, message in cases:
        code, _, err = _run(capsys, *args, "--model", str(tiny_bert_dir))
        assert code == 2 and message in err and "Traceback" not in err, (args, err)


def test_a_learning_rate_that_would_overflow_is_refused(capsys, tiny_bert_dir):
    # 1e308 overflowed inside torch's SGD (a traceback); inf gave a NaN loss with exit status 0.
    import pytest

    for lr in ("1e308", "inf", "nan", "0"):
        with pytest.raises(SystemExit) as refused:
            main(["batch", "--steps", "2", "--lr", lr, "--model", str(tiny_bert_dir)])
        err = capsys.readouterr().err
        assert refused.value.code == 2 and "--lr: must be greater than 0 and at most 100" in err, (lr, err)
