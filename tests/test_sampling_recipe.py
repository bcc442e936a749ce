"""The sampling recipe's limits, checked by one function for the library and the `sample` command."""

from __future__ import annotations

import pytest
from transformers import BertTokenizerFast

from explorer.batch import BatchInputError, sampled_pairs
from explorer.corpus import Corpus
from explorer.encoding import MAX_POSITIONS, MIN_MAX_LENGTH
from explorer.models import bundled_encoder_dir
from explorer.sampling import PairSampler, SamplingError
from explorer.sampling.recipe import recipe_problem

GOOD = {
    "mode": "bert",
    "max_length": 128,
    "not_next_share": 0.5,
    "short_seq_prob": 0.1,
    "hard_negatives": False,
    "similar_negatives": 0.0,
}


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def test_a_good_recipe_has_no_problem_and_the_limits_are_inclusive():
    assert recipe_problem(**GOOD) is None
    for edge in ({"max_length": MIN_MAX_LENGTH}, {"max_length": MAX_POSITIONS}, {"not_next_share": 0.0}):
        assert recipe_problem(**{**GOOD, **edge}) is None
    assert recipe_problem(**{**GOOD, "hard_negatives": True, "similar_negatives": 1.0, "short_seq_prob": 1}) is None


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("not_next_share", 1.01),
        ("short_seq_prob", -0.1),
        ("similar_negatives", 2.0),
        ("hard_negatives", 1.5),
        ("max_length", MIN_MAX_LENGTH - 1),
        ("max_length", MAX_POSITIONS + 1),
    ],
)
def test_each_setting_out_of_range_is_named_in_the_callers_spelling(setting, value):
    problem = recipe_problem(**{**GOOD, setting: value}, spell=_flag)
    assert problem is not None and problem.startswith(_flag(setting) + " must lie between")
    library = recipe_problem(**{**GOOD, setting: value})
    assert library is not None and library.startswith(setting + " must lie between")


def test_an_unknown_mode_lists_the_registered_ones():
    problem = recipe_problem(**{**GOOD, "mode": "chunks"})
    assert problem is not None and "'chunks'" in problem and "bert, sentences, sop" in problem


def test_the_sampler_refuses_with_the_same_sentence_as_a_sampling_error():
    corpus = Corpus("two", [["One here.", "Two here."], ["Three here.", "Four here."]])
    tokenizer = BertTokenizerFast.from_pretrained(bundled_encoder_dir())
    with pytest.raises(SamplingError) as refused:
        PairSampler(corpus, tokenizer, max_length=MAX_POSITIONS + 1)
    assert str(refused.value) == recipe_problem(**{**GOOD, "max_length": MAX_POSITIONS + 1})
    # so the Batch tab's sampled pairs say it in words, not with a traceback
    with pytest.raises(BatchInputError, match="max_length must lie between"):
        sampled_pairs(tokenizer, 4, 0, max_length=MIN_MAX_LENGTH - 1, corpus=corpus)
