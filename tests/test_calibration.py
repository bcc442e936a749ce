import numpy as np
import pytest
import torch

from explorer.calibration import fit_temperature, fold_temperature, mean_nll
from explorer.nsp import score_pair


def test_recovers_the_temperature_of_overconfident_logits():
    rng = np.random.default_rng(0)
    true_logits = rng.normal(0, 2, size=(20_000, 2))
    p = np.exp(true_logits) / np.exp(true_logits).sum(axis=1, keepdims=True)
    labels = (rng.random(20_000) < p[:, 1]).astype(int)  # labels drawn from the calibrated probabilities
    t = fit_temperature(true_logits * 3.0, labels)  # a model three times too confident
    assert t == pytest.approx(3.0, rel=0.05)
    assert mean_nll(true_logits * 3.0, labels, t) < mean_nll(true_logits * 3.0, labels, 1.0)


def test_folding_divides_the_logits(tiny):
    before = score_pair(tiny, "One.", "Two.").logits
    saved = {k: v.clone() for k, v in tiny.model.cls.state_dict().items()}
    try:
        fold_temperature(tiny.model, 2.5)
        after = score_pair(tiny, "One.", "Two.").logits
        np.testing.assert_allclose(after, before / 2.5, atol=1e-6)
    finally:
        tiny.model.cls.load_state_dict(saved)
    assert torch.equal(tiny.model.cls.seq_relationship.weight, saved["seq_relationship.weight"])
