"""Perturbations: each does what it says, and zeroing segment ids really changes the model input."""

import numpy as np
import pytest

from explorer.corpus import Corpus
from explorer.labels import IS_NEXT
from explorer.nsp import score_pair
from explorer.perturb import effect, nsp_probabilities, perturb, replace_b, shuffle_b_words, swap_ab

A, B = "The man went to the store.", "He bought a gallon of milk and some bread."
CORPUS = Corpus(
    "two",
    [
        ["Alpha one is here.", "Alpha two is here."],
        ["Beta one is here.", "Beta two is here."],
        ["Gamma one is here.", "Gamma two is here."],
    ],
)


def test_swap_exchanges_a_and_b():
    assert swap_ab(A, B) == (B, A)
    assert (perturb("swap", A, B).a, perturb("swap", A, B).b) == (B, A)


def test_replace_b_draws_from_another_document_and_is_seeded():
    for seed in range(50):
        new = replace_b(CORPUS, 0, seed)
        assert new not in CORPUS.documents[0]
    assert replace_b(CORPUS, 1, 3) == replace_b(CORPUS, 1, 3)
    assert len({replace_b(CORPUS, 0, s) for s in range(50)}) > 1


def test_shuffle_keeps_the_words_and_changes_the_order():
    shuffled = shuffle_b_words(B, 1)
    assert sorted(shuffled.split()) == sorted(B.split()) and shuffled != B
    assert shuffle_b_words(B, 1) == shuffled
    assert shuffle_b_words("same same", 0) == "same same"  # nothing to reorder


def test_unknown_perturbation():
    with pytest.raises(ValueError):
        perturb("upside-down", A, B)


def test_probabilities_match_score_pair_and_zero_segments_changes_them(tiny):
    plain = nsp_probabilities(tiny, A, B)
    np.testing.assert_allclose(plain, score_pair(tiny, A, B).probabilities, atol=1e-6)
    zeroed = nsp_probabilities(tiny, A, B, zero_segments=True)
    assert not np.allclose(plain, zeroed, atol=1e-6)
    assert zeroed.sum() == pytest.approx(1.0)


def test_zero_segments_equals_omitting_token_type_ids(tiny):
    import torch

    enc = tiny.tokenizer(A, B, return_tensors="pt")
    with torch.inference_mode():
        logits = tiny.model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).logits[0]
    np.testing.assert_allclose(
        nsp_probabilities(tiny, A, B, zero_segments=True), torch.softmax(logits, -1).numpy(), atol=1e-5
    )


def test_effect_reports_before_and_after(tiny):
    shown = effect(tiny, "swap", A, B)
    assert shown.before == pytest.approx(score_pair(tiny, A, B).probabilities[IS_NEXT], abs=1e-6)
    assert shown.after == pytest.approx(score_pair(tiny, B, A).probabilities[IS_NEXT], abs=1e-6)
    assert shown.change == pytest.approx(shown.after - shown.before)
