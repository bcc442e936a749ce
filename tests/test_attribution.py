"""Integrated gradients and occlusion, checked against completeness, autograd and score_pair."""

import numpy as np
import pytest
import torch

from explorer.attribution import integrated_gradients, occlusion, pad_baseline
from explorer.encoding import encode_pair
from explorer.labels import IS_NEXT
from explorer.models import BUNDLED_TRAINED, load_model
from explorer.nsp import score_pair
from explorer.pair_words import pair_words, word_scores


@pytest.fixture(scope="module")
def shipped():
    return load_model(BUNDLED_TRAINED, "cpu")


def test_ig_completeness_on_the_shipped_model_at_64_steps(shipped):
    # A pair the model calls NotNext. (Not every pair converges this fast: on the classic store/milk pair
    # log p(IsNext) turns sharply near a fifth of the way along the path, and 64 steps leave ~10%.)
    a, b = "The man went to the store.", "Penguins are flightless birds."
    ig = integrated_gradients(shipped, encode_pair(shipped.tokenizer, a, b), steps=64)
    gap = ig.f_pair - ig.f_baseline
    assert abs(gap) > 1.0 and ig.gap == gap
    assert ig.completeness_error < 1e-2 * abs(gap)
    assert ig.relative_completeness_error == pytest.approx(ig.completeness_error / abs(gap))
    assert ig.f_pair == pytest.approx(np.log(score_pair(shipped, a, b).p_is_next), abs=1e-5)


def test_ig_equals_a_plain_autograd_integral(tiny):
    """Captum's attributions against a hand-written Riemann sum of autograd gradients along the same path."""
    enc = encode_pair(tiny.tokenizer, "A short first sentence.", "And a second one here.")
    ig = integrated_gradients(tiny, enc, steps=64)
    inputs = enc.tensors()
    embed = tiny.model.bert.embeddings.word_embeddings
    with torch.no_grad():
        x = embed(inputs["input_ids"])
        x0 = embed(torch.tensor([pad_baseline(enc, tiny.tokenizer.pad_token_id)]))
    n = 400
    alphas = (torch.arange(n, dtype=torch.float32) + 0.5) / n  # midpoint rule
    path = (x0 + alphas.view(-1, 1, 1) * (x - x0)).requires_grad_(True)
    ids = inputs["input_ids"].repeat(n, 1)
    # feed the path through the model by swapping the word embeddings' output for it
    handle = embed.register_forward_hook(lambda module, args, output: path)
    try:
        logits = tiny.model(
            input_ids=ids, token_type_ids=inputs["token_type_ids"].repeat(n, 1), attention_mask=torch.ones_like(ids)
        ).logits
    finally:
        handle.remove()
    (grads,) = torch.autograd.grad(torch.log_softmax(logits, -1)[:, IS_NEXT].sum(), path)
    reference = ((x - x0)[0] * grads.mean(dim=0)).sum(dim=-1).numpy()
    scale = np.abs(reference).max()
    np.testing.assert_allclose(ig.token_scores, reference, atol=2e-3 * scale)
    assert ig.completeness_error < 1e-6  # this random model barely reacts; the planted-cue test has a real signal


def test_specials_keep_their_ids_and_get_no_attribution(tiny):
    enc = encode_pair(tiny.tokenizer, "One two.", "Three four.")
    baseline = pad_baseline(enc, tiny.tokenizer.pad_token_id)
    for token_id, base_id, role in zip(enc.input_ids, baseline, enc.roles):
        assert base_id == (token_id if role == "special" else tiny.tokenizer.pad_token_id)
    ig = integrated_gradients(tiny, enc, steps=8)
    specials = [i for i, r in enumerate(enc.roles) if r == "special"]
    assert np.all(ig.token_scores[specials] == 0.0)


def test_an_occlusion_score_equals_scoring_the_edited_pair(shipped):
    a, b = "The man went to the store.", "He bought a gallon of unpasteurised milk."
    occ = occlusion(shipped, encode_pair(shipped.tokenizer, a, b))
    assert occ.p_pair == pytest.approx(score_pair(shipped, a, b).p_is_next, abs=1e-5)
    texts = [w.text for w in occ.words]
    assert "unpasteurised" in texts  # pieces re-joined: the word is deleted whole
    for n in (1, texts.index("unpasteurised")):
        kept = [w for i, w in enumerate(occ.words) if i != n]
        edited_a = " ".join(w.text for w in kept if w.role == "A")
        edited_b = " ".join(w.text for w in kept if w.role == "B")
        direct = score_pair(shipped, edited_a, edited_b).p_is_next
        assert occ.p_without[n] == pytest.approx(direct, abs=1e-5)
        assert occ.word_scores[n] == pytest.approx(occ.p_pair - direct, abs=1e-5)


def test_words_are_rejoined_from_pieces(tiny):
    enc = encode_pair(tiny.tokenizer, "Tokenization rocks!", "Unbelievable.")
    words = pair_words(enc)
    assert [(w.text, w.role) for w in words] == [
        ("tokenization", "A"),
        ("rocks", "A"),
        ("!", "A"),
        ("unbelievable", "B"),
        (".", "B"),
    ]
    assert len(words[0].token_indices) > 1
    scores = np.arange(len(enc.tokens), dtype=float)
    assert word_scores(words, scores)[0] == sum(words[0].token_indices)
