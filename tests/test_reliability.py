"""The Explorer's "not sure" note: measured on the benchmark's validation halves, quiet where the model is reliable."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.evaluate import report_from_logits
from explorer.models import BUNDLED_TRAINED, load_model
from explorer.nsp import score_pair
from explorer.ood import benchmark_pairs
from explorer.reliability import N_BINS, confidence_note, load_table, not_sure, reliability_table, wilson_low

STORE = "The man went to the store."


@pytest.fixture(scope="module")
def shipped():
    return load_model(BUNDLED_TRAINED, "cpu")


def test_the_committed_table_was_measured_on_validation_pairs_of_the_shipped_model():
    table = load_table()
    assert table is not None and table["half"] == "validation" and table["model"] == BUNDLED_TRAINED
    assert sum(b["count"] for b in table["bins"]) == table["n"] == sum(table["sources"].values())
    for b in table["bins"]:
        assert b["not_sure"] == not_sure(b["accuracy"], b["count"])
    assert any(b["not_sure"] for b in table["bins"])  # the model is measurably unreliable somewhere


def test_the_table_is_evaluate_s_reliability_report(bundled):
    pairs = benchmark_pairs("validation", 6)
    table = reliability_table(bundled, pairs)
    from explorer.nsp import score_pairs

    flat = [p for v in pairs.values() for p in v]
    expected = report_from_logits(
        score_pairs(bundled, [(p.a, p.b) for p in flat]), np.array([p.label for p in flat]), N_BINS
    )
    assert table["n"] == expected.n == 6 * len(pairs)
    assert [(b["count"], b["accuracy"]) for b in table["bins"]] == [(b.count, b.accuracy) for b in expected.bins]


def test_not_sure_means_not_measurably_better_than_a_coin_flip():
    # Wilson's interval for 7 of 10: about 0.397 to 0.892 (a textbook value).
    assert wilson_low(0.7, 10) == pytest.approx(0.3968, abs=1e-4)
    assert not_sure(0.55, 100) and not_sure(0.3, 40) and not_sure(0.4, 200)
    assert not not_sure(0.65, 200) and not not_sure(0.55, 10)  # too few pairs to say


def test_quiet_for_the_classic_pairs(shipped):
    for b in ("He bought a gallon of milk.", "Penguins are flightless birds."):
        assert confidence_note(shipped, score_pair(shipped, STORE, b).probabilities) is None


def test_says_how_often_answers_at_this_confidence_were_right(shipped):
    table = load_table()
    band = next(b for b in table["bins"] if b["not_sure"])
    middle = (band["low"] + band["high"]) / 2
    note = confidence_note(shipped, np.array([middle, 1 - middle]))
    assert note is not None and f"{band['accuracy']:.0%}" in note and f"{table['n']:,} validation pairs" in note
    assert confidence_note(shipped, np.array([0.5, 0.5])) is not None  # a coin flip is the least sure answer
    assert confidence_note(shipped, np.array([0.999, 0.001])) is None


def test_other_models_get_no_note(bundled):
    assert confidence_note(bundled, np.array([0.55, 0.45])) is None
