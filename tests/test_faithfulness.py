"""A planted cue: a tiny BERT learns (here, in seconds) that one token in B decides the label.

IG and occlusion must rank that token first; deleting words in a random order must not find it as fast.
"""

import numpy as np
import pytest
import torch
from transformers import BertConfig, BertForNextSentencePrediction, BertTokenizerFast

from explorer.attribution import integrated_gradients, occlusion
from explorer.encoding import encode_pair
from explorer.explain import explain
from explorer.faithfulness import RANDOM, area_under_curve, evidence_order
from explorer.labels import IS_NEXT, NOT_NEXT
from explorer.models import LoadedModel, bundled_encoder_dir
from explorer.nsp import pad_batch

FILLER = [
    "red",
    "blue",
    "green",
    "small",
    "big",
    "old",
    "new",
    "cold",
    "warm",
    "fast",
    "slow",
    "dark",
    "light",
    "tall",
    "short",
    "soft",
]
CUE = "zebra"


def _pair(rng: np.random.Generator, with_cue: bool) -> tuple[str, str]:
    a = " ".join(rng.choice(FILLER, 4))
    b = list(rng.choice(FILLER, 4))
    if with_cue:
        b[rng.integers(4)] = CUE
    return a, " ".join(b)


@pytest.fixture(scope="module")
def planted() -> LoadedModel:
    return train_planted_cue_model()


def train_planted_cue_model() -> LoadedModel:
    """IsNext exactly when B contains the cue word."""
    tokenizer = BertTokenizerFast.from_pretrained(bundled_encoder_dir())
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=32,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    torch.manual_seed(0)
    model = BertForNextSentencePrediction(config)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    rng = np.random.default_rng(0)
    for _ in range(150):
        labels = rng.integers(0, 2, 32)
        encodings = [encode_pair(tokenizer, *_pair(rng, label == IS_NEXT)) for label in labels]
        inputs = pad_batch([e.input_ids for e in encodings], [e.token_type_ids for e in encodings])
        loss = model(**inputs, labels=torch.tensor(labels)).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    return LoadedModel(model, tokenizer, "planted-cue", "planted cue", torch.device("cpu"), head_trained=True)


def test_the_tiny_model_learned_the_cue(planted):
    rng = np.random.default_rng(1)
    for label in (IS_NEXT, NOT_NEXT):
        for _ in range(5):
            occ = occlusion(planted, encode_pair(planted.tokenizer, *_pair(rng, label == IS_NEXT)))
            assert (occ.p_pair > 0.9) if label == IS_NEXT else (occ.p_pair < 0.1)


def test_ig_and_occlusion_rank_the_cue_first_and_random_deletion_does_not(planted):
    a, b = "red blue green small", "big zebra old new"
    done = explain(planted, a, b, "deletion", max_length=32, steps=64)
    words = [w.text for w in done.deletion.words]
    cue = words.index(CUE)
    assert done.deletion.answer == IS_NEXT
    assert done.deletion.orders["integrated gradients"][0] == cue
    assert done.deletion.orders["occlusion"][0] == cue
    curves, areas = done.deletion.curves, done.deletion.areas
    # deleting the cue first drops p(IsNext) at once; random orders (averaged) mostly delete something else
    assert curves["integrated gradients"][1] < 0.2 and curves["occlusion"][1] < 0.2
    assert curves[RANDOM][1] > 0.5
    assert areas["integrated gradients"] < areas[RANDOM] and areas["occlusion"] < areas[RANDOM]
    best = done.deletion.most_faithful
    assert best != RANDOM and areas[best] == min(area for name, area in areas.items() if name != RANDOM)


def test_deletion_curves_equal_rescoring_by_hand(planted):
    a, b = "red blue green small", "big zebra old new"
    done = explain(planted, a, b, "deletion", max_length=32, steps=16)
    order = done.deletion.orders["occlusion"]
    kept = [w for i, w in enumerate(done.deletion.words) if i not in order[:2]]
    edited = [" ".join(w.text for w in kept if w.role == part) for part in ("A", "B")]
    again = integrated_gradients(planted, encode_pair(planted.tokenizer, *edited), steps=4)
    assert done.deletion.curves["occlusion"][2] == pytest.approx(np.exp(again.f_pair), abs=1e-5)


def test_area_and_order_helpers():
    assert area_under_curve(np.array([1.0, 0.0])) == pytest.approx(0.5)
    assert area_under_curve(np.array([1.0, 1.0, 1.0])) == pytest.approx(1.0)
    scores = np.array([0.1, -0.5, 0.3])
    assert evidence_order(scores, IS_NEXT) == [2, 0, 1]
    assert evidence_order(scores, NOT_NEXT) == [1, 0, 2]
    assert evidence_order(np.array([0.2, 0.9, 0.1]), NOT_NEXT, signed=False) == [1, 0, 2]
