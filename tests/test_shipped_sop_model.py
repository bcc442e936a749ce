"""The sentence-order (SOP) model shipped in explorer/data/minilm_sop: the NSP model + a low-rank difference."""

import json

import numpy as np
import pytest
import torch
from safetensors import safe_open

from explorer.evaluate import read_pairs
from explorer.models import BUNDLED_SOP, BUNDLED_SOURCES, BUNDLED_TRAINED, SOP_DIR, load_model
from explorer.nsp import score_pairs, softmax
from explorer.objectives import TASKS, task_pairs

pytestmark = pytest.mark.skipif(BUNDLED_SOP not in BUNDLED_SOURCES, reason="no SOP model in this checkout")


@pytest.fixture(scope="module")
def sop():
    return load_model(BUNDLED_SOP, "cpu")


@pytest.fixture(scope="module")
def nsp():
    return load_model(BUNDLED_TRAINED, "cpu")


@pytest.fixture(scope="module")
def ordered_pairs(sop):
    """Held-out SOP pairs (test half of the held-out documents), each put in its true order."""
    task = next(t for t in TASKS if t.key == "sop_heldout")
    return [(p.a, p.b) if p.label == 0 else (p.b, p.a) for p in task_pairs(task, sop.tokenizer, 60)]


def _both_ways(model, pairs) -> tuple[np.ndarray, np.ndarray]:
    forward = softmax(score_pairs(model, pairs, batch_size=30))[:, 0]
    swapped = softmax(score_pairs(model, [(b, a) for a, b in pairs], batch_size=30))[:, 0]
    return forward, swapped


def test_it_is_stored_as_a_low_rank_difference_from_the_nsp_model(sop, nsp):
    manifest = json.loads((SOP_DIR / "delta.json").read_text())
    assert manifest["base"] == BUNDLED_TRAINED
    assert sum(p.stat().st_size for p in SOP_DIR.glob("*.safetensors")) < 10 * 10**6  # the 10 MB
    own, base = sop.model.state_dict(), nsp.model.state_dict()
    assert torch.equal(own["bert.embeddings.word_embeddings.weight"], base["bert.embeddings.word_embeddings.weight"])
    ranks = set()
    for shard in manifest["shards"]:
        with safe_open(str(SOP_DIR / shard), "pt") as stored:
            ranks |= {stored.get_slice(k).get_shape()[1] for k in stored.keys() if k.endswith("@up")}  # noqa: SIM118
    assert len(ranks) == 1
    rank = ranks.pop()
    assert len(manifest["low_rank"]) == 6 * 6 + 1  # each layer's six matrices and the pooler
    for key in ("bert.encoder.layer.0.attention.self.query.weight", "bert.encoder.layer.5.output.dense.weight"):
        difference = (own[key] - base[key]).double()
        assert torch.linalg.matrix_rank(difference, atol=1e-4).item() <= rank < min(difference.shape), key


def test_base_plus_delta_reproduces_the_trained_model(sop):
    info = json.loads((SOP_DIR / "delta.json").read_text())["info"]
    pairs = read_pairs(SOP_DIR.parent / info["reference_pairs"])
    got = score_pairs(sop, [(p.a, p.b) for p in pairs])
    np.testing.assert_allclose(got, np.array(info["reference_logits"]), atol=0.02)


def test_on_held_out_text_it_flips_when_the_pair_is_swapped_and_the_nsp_model_does_not(sop, nsp, ordered_pairs):
    forward, swapped = _both_ways(sop, ordered_pairs)
    right_both_ways = ((forward > 0.5) & (swapped < 0.5)).mean()
    assert right_both_ways >= 0.75  # 88% measured on these 60 pairs, each scored both ways
    clear = (forward >= 0.8) & (swapped < 0.2)  # a clear ordered pair: p(in order) >= 0.8, its swap below 0.2
    assert clear.mean() >= 0.6  # 78% measured
    nsp_forward, nsp_swapped = _both_ways(nsp, ordered_pairs)
    # The NSP model judges topic, the same both ways: it is right both ways on 27% of these pairs.
    nsp_right_both_ways = ((nsp_forward > 0.5) & (nsp_swapped < 0.5)).mean()
    assert nsp_right_both_ways <= 0.35 and right_both_ways - nsp_right_both_ways >= 0.4
