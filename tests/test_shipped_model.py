"""The NSP model shipped in explorer/data/minilm_nsp: base package + stored fp16 tensors."""

import json

import numpy as np
import pytest

from explorer.evaluate import read_pairs, report_from_logits
from explorer.models import BUNDLED_TRAINED, DEFAULT_SOURCE, TRAINED_DIR, load_model
from explorer.nsp import score_pair, score_pairs

STORE = "The man went to the store."


@pytest.fixture(scope="module")
def shipped():
    return load_model(BUNDLED_TRAINED, "cpu")


def test_it_is_the_default_and_its_head_is_trained(shipped):
    assert DEFAULT_SOURCE == BUNDLED_TRAINED
    assert shipped.head_trained and not shipped.notes


def test_classic_examples(shipped):
    assert score_pair(shipped, STORE, "He bought a gallon of milk.").p_is_next >= 0.8
    assert score_pair(shipped, STORE, "Penguins are flightless birds.").p_not_next >= 0.8


def test_base_plus_delta_reproduces_the_trained_model(shipped):
    """Logits of the full-precision model were recorded when it was built; fp16 storage may move them a little."""
    manifest = json.loads((TRAINED_DIR / "delta.json").read_text())
    pairs = read_pairs(TRAINED_DIR.parent / manifest["info"]["reference_pairs"])
    got = score_pairs(shipped, [(p.a, p.b) for p in pairs])
    np.testing.assert_allclose(got, np.array(manifest["info"]["reference_logits"]), atol=0.02)


def test_everyday_pairs_meet_the_target(shipped):
    pairs = read_pairs(TRAINED_DIR.parent / "everyday_pairs.csv")
    report = report_from_logits(score_pairs(shipped, [(p.a, p.b) for p in pairs]), np.array([p.label for p in pairs]))
    assert report.n >= 40 and report.accuracy >= 0.95
    assert report.to_dict()["mean_p_true"] >= 0.85


def test_the_repository_holds_at_most_25_mb_for_it():
    sizes = [p.stat().st_size for p in TRAINED_DIR.glob("*.safetensors")]
    assert sizes and sum(sizes) < 25 * 2**20


def test_model_card_summary_is_honest():
    from explorer.models import model_card_summary

    summary = model_card_summary()
    assert "fine-tuned for Next Sentence Prediction by NSP Explorer" in summary
    assert "not Google's BERT" in summary


def test_unseen_news_articles_are_mostly_right(shipped):
    """Out of domain: ABC news articles, a source the model never trained on, pairs by BERT's recipe."""
    from explorer.corpus import load_corpus
    from explorer.sampling import PairSampler

    pairs = PairSampler(load_corpus("news"), shipped.tokenizer, seed=13).sample_many(300)
    logits = score_pairs(shipped, [(p.a, p.b) for p in pairs])
    report = report_from_logits(logits, np.array([p.label for p in pairs]))
    assert report.accuracy >= 0.85, report.to_dict()
