"""The explain facade and the `explain` command: every method, the time budget, bad input."""

import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT

from explorer.encoding import PairInputError
from explorer.explain import TooLongToExplain, explain, explanation_to_dict
from explorer.nsp import score_pair

A, B = "The man went to the store.", "He bought a gallon of milk."
LONG = "history " * 600  # far more than 512 tokens


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "explorer", "explain", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )


def test_an_untrained_head_still_explains(bundled):
    assert not bundled.head_trained
    done = explain(bundled, A, B, "deletion", steps=8)
    data = explanation_to_dict(done)
    assert set(data) >= {"tokens", "words", "attention", "integrated_gradients", "occlusion", "deletion"}
    assert len(data["integrated_gradients"]["per_token"]) == len(data["tokens"])
    assert len(data["occlusion"]["per_word"]) == len(data["words"]) == 14
    p = score_pair(bundled, A, B).p_is_next
    assert data["deletion"]["curves"]["random"][0] == pytest.approx(max(p, 1 - p), abs=1e-5)


def test_a_512_token_pair_explains_attention_and_refuses_slow_methods_clearly(bundled):
    done = explain(bundled, LONG, LONG, "attention", max_length=512)
    assert done.attention.attentions.shape[-1] == 512
    np.testing.assert_allclose(done.attention.attentions.sum(axis=-1), 1.0, atol=1e-5)
    for method in ("ig", "occlusion", "deletion"):
        with pytest.raises(TooLongToExplain, match=r"too long for .* within the time budget"):
            explain(bundled, LONG, LONG, method, max_length=512)


def test_bad_input_and_settings_are_refused(tiny):
    with pytest.raises(PairInputError, match="Sentence B is empty"):
        explain(tiny, A, "  ", "ig")
    with pytest.raises(ValueError, match="steps must be between"):
        explain(tiny, A, B, "ig", steps=100_000)
    with pytest.raises(ValueError, match="Unknown method"):
        explain(tiny, A, B, "lime")


def test_explaining_never_leaves_hooks_on_the_shared_model(tiny):
    explain(tiny, A, B, "deletion", steps=4)
    for module in tiny.model.modules():
        assert not module._forward_hooks and not module._forward_pre_hooks and not module._backward_hooks
    assert tiny.model.config._attn_implementation != "eager"
    assert all(p.grad is None for p in tiny.model.parameters())


def test_cli_json_matches_the_library(tiny_bert_dir, tiny):
    proc = _cli(A, B, "--method", "ig", "--steps", "8", "--model", str(tiny_bert_dir), "--device", "cpu", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    ref = explain(tiny, A, B, "ig", steps=8)
    assert data["tokens"] == ref.encoding.tokens and data["method"] == "ig"
    np.testing.assert_allclose(data["integrated_gradients"]["per_token"], ref.ig.token_scores, atol=1e-6)
    assert data["integrated_gradients"]["completeness_error"] == pytest.approx(ref.ig.completeness_error, abs=1e-6)
    words = ["the", "man", "went", "to", "the", "store", ".", "he", "bought", "a", "gallon", "of", "milk", "."]
    assert [w["text"] for w in data["words"]] == words


def test_cli_text_output_and_errors(tiny_bert_dir):
    proc = _cli(A, B, "--method", "attention", "--model", str(tiny_bert_dir), "--device", "cpu")
    assert proc.returncode == 0, proc.stderr
    assert "layer 0: [CLS] attends" in proc.stdout and "rollout" in proc.stdout
    too_long = _cli(LONG, LONG, "--method", "occlusion", "--max-length", "512")  # the shipped model
    assert too_long.returncode == 2 and "too long" in too_long.stderr and "Traceback" not in too_long.stderr
    empty = _cli("", B, "--model", str(tiny_bert_dir))
    assert empty.returncode == 2 and "Sentence A is empty" in empty.stderr
