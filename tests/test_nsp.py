"""The NSP steps must equal what the library computes: its own loss and torch's cross-entropy."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from explorer import nsp
from explorer.device import SHORT_PASS_TOKENS, threads_for_pass
from explorer.labels import IS_NEXT, NOT_NEXT
from explorer.nsp import cross_entropy, score_pair, score_pairs, softmax

THREADS_AT_START = torch.get_num_threads()
PAIR = ("The man went to the store.", "He bought a gallon of milk.")


def _hf_reference(loaded, a, b, label):
    enc = loaded.tokenizer(a, b, return_tensors="pt")
    with torch.no_grad():
        out = loaded.model(**enc, labels=torch.tensor([label]))
    return out.logits[0], out.loss


@pytest.mark.parametrize("which", ["tiny", "bundled"])
@pytest.mark.parametrize("label", [IS_NEXT, NOT_NEXT])
def test_loss_equals_hugging_face_and_torch(request, which, label):
    loaded = request.getfixturevalue(which)
    result = score_pair(loaded, *PAIR, label=label)
    logits, hf_loss = _hf_reference(loaded, *PAIR, label)
    np.testing.assert_allclose(result.logits, logits.numpy(), atol=1e-6)
    assert abs(result.loss - hf_loss.item()) < 1e-6
    torch_ce = F.cross_entropy(torch.tensor(result.logits).unsqueeze(0), torch.tensor([label])).item()
    assert abs(result.loss - torch_ce) < 1e-6
    assert abs(result.loss + np.log(result.probabilities[label])) < 1e-9
    assert abs(result.probabilities.sum() - 1) < 1e-12


def test_pooler_and_head_steps_match_their_formulas(bundled):
    result = score_pair(bundled, *PAIR)
    pooler = bundled.model.bert.pooler.dense
    w, b = pooler.weight.detach().numpy(), pooler.bias.detach().numpy()
    np.testing.assert_allclose(result.pooled, np.tanh(w @ result.h_cls + b), atol=1e-5)
    head = bundled.model.cls.seq_relationship
    w_nsp, b_nsp = head.weight.detach().numpy(), head.bias.detach().numpy()
    np.testing.assert_allclose(result.logits, w_nsp @ result.pooled + b_nsp, atol=1e-5)
    np.testing.assert_allclose(result.textbook_logits, w_nsp @ result.h_cls + b_nsp, atol=1e-5)


def test_label_zero_is_is_next(tiny):
    """A head biased towards output 0 must read as IsNext: the convention of BERT and HF."""
    head = tiny.model.cls.seq_relationship
    saved = head.bias.detach().clone()
    try:
        with torch.no_grad():
            head.bias.copy_(torch.tensor([5.0, -5.0]))
        result = score_pair(tiny, *PAIR, label=IS_NEXT)
        assert result.p_is_next > 0.99 and result.predicted == IS_NEXT and result.loss < 0.01
        assert score_pair(tiny, *PAIR, label=NOT_NEXT).loss > 5
    finally:
        with torch.no_grad():
            head.bias.copy_(saved)


def test_batched_scoring_with_padding_equals_one_by_one(bundled):
    pairs = [PAIR, ("Short.", "A much longer second sentence that needs padding in the other rows."), ("x", "y")]
    batched = score_pairs(bundled, pairs, batch_size=2)
    for row, (a, b) in zip(batched, pairs):
        np.testing.assert_allclose(row, score_pair(bundled, a, b).logits, atol=1e-5)


def test_softmax_and_cross_entropy_are_stable():
    assert np.allclose(softmax(np.array([1000.0, 0.0])), [1.0, 0.0])
    assert cross_entropy(np.array([0.0, 0.0]), 0) == pytest.approx(np.log(2))
    assert cross_entropy(np.array([1000.0, 0.0]), 1) == pytest.approx(1000.0)


def test_bad_label_is_rejected(tiny):
    with pytest.raises(ValueError):
        score_pair(tiny, *PAIR, label=2)


def test_a_short_pair_runs_on_one_thread_and_a_long_one_on_all(bundled):
    """The scoring pass of a short pair uses one intra-op thread (no waiting on a core another process
    holds); a long pass keeps torch's count, and the caller's count is back afterwards either way."""
    seen = []

    def record(module, args, kwargs):
        seen.append((kwargs["input_ids"].shape[1], torch.get_num_threads()))

    hook = bundled.model.bert.register_forward_pre_hook(record, with_kwargs=True)
    torch.set_num_threads(2)
    try:
        short = nsp.score_pair(bundled, "The man went to the store.", "He bought milk.", 0)
        long = nsp.score_pair(bundled, "word " * 100, "other " * 100, 0, max_length=256)
        assert torch.get_num_threads() == 2
        with threads_for_pass(10, torch.device("meta")):
            assert torch.get_num_threads() == 2  # not a CPU pass: torch's own count
    finally:
        hook.remove()
        torch.set_num_threads(THREADS_AT_START)
    assert seen == [(len(short.encoding.input_ids), 1), (len(long.encoding.input_ids), 2)]
    assert len(long.encoding.input_ids) > SHORT_PASS_TOKENS
