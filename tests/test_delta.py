"""The delta format: base model + stored fp16 tensors must reproduce the fine-tuned model."""

import json

import numpy as np
import pytest
import torch

from explorer.delta import save_delta
from explorer.models import load_model
from explorer.nsp import score_pairs

PAIRS = [("The man went to the store.", "He bought milk."), ("It rained all day.", "Penguins are birds.")]


@pytest.fixture
def fine_tuned(tiny_bert_dir):
    """The tiny model with every tensor but the word embeddings moved, as fine-tuning would."""
    loaded = load_model(str(tiny_bert_dir), "cpu")
    torch.manual_seed(7)
    with torch.no_grad():
        for name, param in loaded.model.named_parameters():
            if name != "bert.embeddings.word_embeddings.weight":
                param.add_(0.05 * torch.randn_like(param))
    return loaded


def test_delta_round_trip_reproduces_logits(fine_tuned, tiny_bert_dir, tmp_path):
    folder = save_delta(fine_tuned.model, tmp_path / "delta", base=str(tiny_bert_dir))
    manifest = json.loads((folder / "delta.json").read_text())
    assert manifest["frozen"] == ["bert.embeddings.word_embeddings.weight"] and manifest["dtype"] == "float16"
    restored = load_model(str(folder), "cpu")
    assert restored.head_trained
    expected, got = score_pairs(fine_tuned, PAIRS), score_pairs(restored, PAIRS)
    np.testing.assert_allclose(got, expected, atol=5e-3)  # fp16 storage
    assert not np.allclose(score_pairs(load_model(str(tiny_bert_dir), "cpu"), PAIRS), expected, atol=5e-3)


def test_delta_that_does_not_fit_is_refused(fine_tuned, tmp_path):
    folder = save_delta(fine_tuned.model, tmp_path / "delta", base="bundled:minilm-untrained")
    with pytest.raises(Exception, match=r"does not fit|shape"):
        load_model(str(folder), "cpu")


def test_shards_stay_small(bundled, tmp_path):
    folder = save_delta(bundled.model, tmp_path / "delta", base="bundled:minilm-untrained")
    sizes = [p.stat().st_size for p in folder.glob("*.safetensors")]
    assert len(sizes) >= 2 and max(sizes) < 16 * 2**20 and sum(sizes) < 25 * 2**20
