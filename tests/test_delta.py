"""The delta format: base model + stored fp16 tensors must reproduce the fine-tuned model."""

import json

import numpy as np
import pytest
import torch

from explorer.delta import frozen_except, frozen_problem, save_delta, top_layers_keys
from explorer.models import ModelLoadError, load_model
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


def test_a_delta_stored_on_another_delta_loads_through_the_chain(fine_tuned, tiny_bert_dir, tmp_path):
    first = save_delta(fine_tuned.model, tmp_path / "first", base=str(tiny_bert_dir))
    second_model = load_model(str(first), "cpu")
    trained = top_layers_keys(second_model.model, 1)
    assert trained and all(k.startswith(("bert.encoder.layer.1.", "bert.pooler.", "cls.")) for k in trained)
    reference = load_model(str(first), "cpu").model
    with torch.no_grad():  # a top-1 run: only the last layer, the pooler and the head move
        for name, param in second_model.model.named_parameters():
            if name in trained:
                param.add_(0.05 * torch.randn_like(param))
    frozen = frozen_except(second_model.model, trained)
    assert frozen_problem(second_model.model, reference, frozen) is None
    second = save_delta(second_model.model, tmp_path / "second", base=str(first), frozen=frozen)
    stored = sum(p.stat().st_size for p in second.glob("*.safetensors"))
    assert stored < sum(p.stat().st_size for p in first.glob("*.safetensors")) / 2
    restored = load_model(str(second), "cpu")
    np.testing.assert_allclose(score_pairs(restored, PAIRS), score_pairs(second_model, PAIRS), atol=5e-3)
    assert not np.allclose(score_pairs(restored, PAIRS), score_pairs(fine_tuned, PAIRS), atol=5e-3)


def test_a_delta_that_names_itself_as_base_is_refused(fine_tuned, tmp_path):
    folder = save_delta(fine_tuned.model, tmp_path / "loop", base=str(tmp_path / "loop"))
    with pytest.raises(ModelLoadError, match="more than"):
        load_model(str(folder), "cpu")
