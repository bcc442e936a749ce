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


def _low_rank_moved(tiny_bert_dir, rank: int):
    """The tiny model with every weight matrix moved by a rank-`rank` difference and every other tensor by noise."""
    loaded = load_model(str(tiny_bert_dir), "cpu")
    generator = torch.Generator().manual_seed(11)
    with torch.no_grad():
        for name, param in loaded.model.named_parameters():
            if name == "bert.embeddings.word_embeddings.weight":
                continue
            if param.ndim == 2 and "embeddings" not in name and min(param.shape) > rank:
                up = torch.randn(param.shape[0], rank, generator=generator)
                down = torch.randn(rank, param.shape[1], generator=generator)
                param.add_(0.02 * up @ down)
            else:
                param.add_(0.05 * torch.randn(param.shape, generator=generator))
    return loaded


def test_low_rank_delta_reproduces_a_low_rank_fine_tune(tiny_bert_dir, tmp_path):
    moved, base = _low_rank_moved(tiny_bert_dir, 2), load_model(str(tiny_bert_dir), "cpu")
    full = save_delta(moved.model, tmp_path / "full", base=str(tiny_bert_dir))
    reduced = save_delta(moved.model, tmp_path / "low", base=str(tiny_bert_dir), low_rank=(base.model, 2))
    manifest = json.loads((reduced / "delta.json").read_text())
    assert manifest["low_rank"] and all(k.endswith(".weight") for k in manifest["low_rank"])
    size = lambda folder: sum(p.stat().st_size for p in folder.glob("*.safetensors"))  # noqa: E731
    assert size(reduced) < size(full)
    restored = load_model(str(reduced), "cpu")
    np.testing.assert_allclose(score_pairs(restored, PAIRS), score_pairs(moved, PAIRS), atol=5e-3)
    key = manifest["low_rank"][0]
    np.testing.assert_allclose(
        restored.model.state_dict()[key].numpy(), moved.model.state_dict()[key].numpy(), atol=2e-3
    )


def test_low_rank_delta_keeps_the_best_approximation(tiny_bert_dir, tmp_path):
    """Rank 1 of a rank-2 difference: the error is the discarded singular value (Eckart-Young), checked by numpy."""
    moved, base = _low_rank_moved(tiny_bert_dir, 2), load_model(str(tiny_bert_dir), "cpu")
    folder = save_delta(moved.model, tmp_path / "low", base=str(tiny_bert_dir), low_rank=(base.model, 1))
    key = json.loads((folder / "delta.json").read_text())["low_rank"][0]
    restored = load_model(str(folder), "cpu").model.state_dict()[key].numpy().astype(np.float64)
    target = moved.model.state_dict()[key].numpy().astype(np.float64)
    difference = target - base.model.state_dict()[key].numpy().astype(np.float64)
    discarded = np.linalg.svd(difference, compute_uv=False)[1:]
    assert np.linalg.norm(target - restored) == pytest.approx(np.sqrt((discarded**2).sum()), rel=0.02, abs=1e-3)


def test_low_rank_delta_missing_a_factor_is_refused(tiny_bert_dir, tmp_path):
    moved, base = _low_rank_moved(tiny_bert_dir, 2), load_model(str(tiny_bert_dir), "cpu")
    folder = save_delta(moved.model, tmp_path / "low", base=str(tiny_bert_dir), low_rank=(base.model, 2))
    manifest = json.loads((folder / "delta.json").read_text())
    manifest["low_rank"].append("bert.pooler.dense.bias")  # listed as low-rank, but no factors stored
    (folder / "delta.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelLoadError, match="does not fit"):
        load_model(str(folder), "cpu")
