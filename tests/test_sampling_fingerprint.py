"""The pairs each mode draws with a fixed seed, pinned by a fingerprint (a regression test for refactors).

The fingerprints were recorded from the sampler before its modes became strategy objects; a change in
any pair (text, ids, label, spans, cuts or the order they come in) changes the digest.
"""

from __future__ import annotations

import hashlib
import json

import pytest
from transformers import BertTokenizerFast

from explorer.corpus import Corpus
from explorer.models import bundled_encoder_dir
from explorer.sampling import PairSampler

N_PAIRS = 300

# name -> (PairSampler options, sha256 of the pairs drawn)
RECIPES: dict[str, tuple[dict, str]] = {
    "bert": ({"mode": "bert"}, "1825a4e68b6a5d8b9fb5261f92b5540464ace3db8374519e3ed1973bada5cd86"),
    "bert-short": (
        {"mode": "bert", "short_seq_prob": 0.5, "not_next_share": 0.3},
        "10090b7125fb593ae75feda0bf1a8566a7f5f9e26641e07210afd92ee0a27bee",
    ),
    "bert-hard": (
        {"mode": "bert", "hard_negatives": True},
        "96d4db5c89e0f3871ca7206afb5113e3b4186e65275a1d8b3670c46f33b238b1",
    ),
    "bert-hard-share": (
        {"mode": "bert", "hard_negatives": 0.4, "similar_negatives": 0.5},
        "b0a8dcb5753a18a2d26a1c787541a461fe6310272d28587a7ef4383cfc77df72",
    ),
    "bert-same-source": (
        {"mode": "bert", "same_source_negatives": True, "similar_negatives": 1.0},
        "56e72e8339af56014087875d2ce441447ba45d2e60219fe4ec306e97e5705768",
    ),
    "sentences": ({"mode": "sentences"}, "26e64e6cc91c7137f035068f8ba3da7a7ea0c116068d21428f4f4c07027b702f"),
    "sentences-hard": (
        {"mode": "sentences", "hard_negatives": 0.5},
        "dad948de36695f05ea960f83eab16de594e33cdae8f7936e8c6b07731da5e2cc",
    ),
    "sentences-similar": (
        {"mode": "sentences", "similar_negatives": 1.0, "same_source_negatives": True},
        "79dffae25aca3b63425b724d588233fea5eb5a97d93bd03dba75c661aa52cbba",
    ),
    "sop": ({"mode": "sop", "not_next_share": 0.4}, "b6c0f853383b92317b1ecd88e945e68e736b78939d11473e5d98be73a8eaf889"),
    "sop-short": (
        {"mode": "sop", "short_seq_prob": 0.7, "hard_negatives": True},
        "d6d6978444540452dc9570dd87981d987fb9a8698b62c15fce7cba7ca48f2467",
    ),
}


def _mixed_corpus() -> Corpus:
    """Two sources, documents of uneven length and sentences of uneven token counts (so chunks vary)."""
    words = [
        "river",
        "market",
        "winter",
        "harbour",
        "letter",
        "engine",
        "garden",
        "council",
        "signal",
        "lantern",
        "orchard",
        "meadow",
    ]
    docs, sources = [], []
    for d in range(10):
        n_sentences = 3 + (d * 5) % 11
        doc = []
        for i in range(n_sentences):
            n_words = 3 + (d * 7 + i * 3) % 13
            text = " ".join(words[(d + i * j) % len(words)] for j in range(n_words))
            doc.append(f"In part {i} of story {d}, the {text}.")
        docs.append(doc)
        sources.append("alpha" if d % 2 else "beta")
    return Corpus("fingerprint", docs, sources=sources)


@pytest.fixture(scope="module")
def tokenizer():
    return BertTokenizerFast.from_pretrained(bundled_encoder_dir())


def fingerprint(options: dict, tokenizer) -> str:
    sampler = PairSampler(_mixed_corpus(), tokenizer, max_length=24, seed=11, **options)
    digest = hashlib.sha256()
    for pair in sampler.sample_many(N_PAIRS):
        record = {**pair.to_dict(), "a_ids": pair.a_ids, "b_ids": pair.b_ids}
        digest.update(json.dumps(record, sort_keys=True).encode())
    return digest.hexdigest()


@pytest.mark.parametrize("name", list(RECIPES))
def test_each_mode_draws_the_pairs_it_drew_before(name, tokenizer):
    options, expected = RECIPES[name]
    assert fingerprint(options, tokenizer) == expected
