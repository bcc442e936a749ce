"""Where [CLS] looks: the eager-attention pass, the [CLS] shares and attention rollout."""

import numpy as np
import pytest

from explorer.attention import SHARE_PARTS, attention_pass, attention_rollout, eager_twin, model_twin, part_masks
from explorer.models import BUNDLED_TRAINED, load_model
from explorer.nsp import score_pair

A, B = "The man went to the store.", "He bought a gallon of milk."


@pytest.fixture(scope="module")
def shipped():
    return load_model(BUNDLED_TRAINED, "cpu")


def test_attention_rows_sum_to_one_and_shares_cover_every_token(shipped):
    result = attention_pass(shipped, A, B)
    layers, heads, n, n2 = result.attentions.shape
    assert (layers, heads) == (6, 12) and n == n2 == len(result.encoding.tokens)
    np.testing.assert_allclose(result.attentions.sum(axis=-1), 1.0, atol=1e-5)
    assert (result.attentions >= 0).all()
    np.testing.assert_allclose(result.cls_shares.sum(axis=-1), 1.0, atol=1e-5)
    masks = part_masks(result.encoding)
    assert masks.sum(axis=0).tolist() == [1.0] * n  # each token in exactly one part
    assert masks[SHARE_PARTS.index("[SEP]")].sum() == 2


def test_eager_logits_equal_the_normal_path(shipped, tiny):
    for loaded in (shipped, tiny):
        eager = attention_pass(loaded, A, B).logits
        normal = score_pair(loaded, A, B).logits
        np.testing.assert_allclose(eager, normal, atol=1e-5)


def test_the_shared_model_is_not_changed(shipped):
    before = shipped.model.config._attn_implementation
    twin = eager_twin(shipped)
    attention_pass(shipped, A, B)
    assert shipped.model.config._attn_implementation == before != "eager"
    assert twin.config._attn_implementation == "eager"
    # the twin shares the weights (no copy) but not the config
    assert twin.bert.embeddings.word_embeddings.weight is shipped.model.bert.embeddings.word_embeddings.weight
    assert twin.config is not shipped.model.config
    assert eager_twin(shipped) is twin
    assert model_twin(shipped) is not twin  # a private one for hooks


def test_rollout_by_hand():
    identity = np.broadcast_to(np.eye(3), (2, 4, 3, 3))
    np.testing.assert_allclose(attention_rollout(identity), np.eye(3))
    # one layer, every head attends uniformly: 0.5 * uniform + 0.5 * identity
    uniform = np.full((1, 2, 3, 3), 1 / 3)
    np.testing.assert_allclose(attention_rollout(uniform), 0.5 / 3 + 0.5 * np.eye(3))
    # two layers multiply, first layer on the right
    rng = np.random.default_rng(0)
    att = rng.random((2, 3, 4, 4))
    att /= att.sum(axis=-1, keepdims=True)
    mix = [0.5 * layer.mean(axis=0) + 0.5 * np.eye(4) for layer in att]
    np.testing.assert_allclose(attention_rollout(att), mix[1] @ mix[0])
    np.testing.assert_allclose(attention_rollout(att).sum(axis=-1), 1.0)
