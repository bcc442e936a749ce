"""`python -m explorer export-delta`: a checkpoint becomes a delta folder that reproduces its logits, and a
checkpoint whose frozen word embeddings were trained is refused with exit code 2."""

import json

import numpy as np
import torch

from explorer.cli import main
from explorer.evaluate import read_pairs
from explorer.examples import EVERYDAY_PAIRS
from explorer.models import load_model
from explorer.nsp import score_pairs


def _moved_checkpoint(tiny_bert_dir, out, also_words: bool = False):
    """The tiny model with its tensors moved as fine-tuning would (the word embeddings only if also_words)."""
    loaded = load_model(str(tiny_bert_dir), "cpu")
    torch.manual_seed(3)
    with torch.no_grad():
        for name, param in loaded.model.named_parameters():
            if also_words or name != "bert.embeddings.word_embeddings.weight":
                param.add_(0.05 * torch.randn_like(param))
    loaded.model.save_pretrained(out, safe_serialization=True)
    loaded.tokenizer.save_pretrained(out)
    return loaded


def test_export_delta_writes_a_folder_that_reproduces_the_checkpoint(tiny_bert_dir, tmp_path, capsys):
    checkpoint = _moved_checkpoint(tiny_bert_dir, tmp_path / "ckpt")
    out = tmp_path / "delta"
    assert main(["export-delta", str(tmp_path / "ckpt"), "--out", str(out), "--base", str(tiny_bert_dir)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    manifest = json.loads((out / "delta.json").read_text())
    pairs = [(p.a, p.b) for p in read_pairs(EVERYDAY_PAIRS)]
    expected = score_pairs(checkpoint, pairs)
    # The stored reference logits are the full-precision checkpoint's, and base + delta reproduces them.
    np.testing.assert_allclose(np.array(manifest["info"]["reference_logits"]), expected, atol=1e-5)
    np.testing.assert_allclose(score_pairs(load_model(str(out), "cpu"), pairs), expected, atol=5e-3)


def test_export_delta_refuses_trained_word_embeddings(tiny_bert_dir, tmp_path, capsys):
    _moved_checkpoint(tiny_bert_dir, tmp_path / "ckpt", also_words=True)
    code = main(["export-delta", str(tmp_path / "ckpt"), "--out", str(tmp_path / "d"), "--base", str(tiny_bert_dir)])
    assert code == 2
    assert "word_embeddings" in capsys.readouterr().err and not (tmp_path / "d").exists()
