"""The model build's recipe file (recipes/minilm_nsp.toml): every run it describes is a valid `train` command."""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path

import pytest

from explorer.commands import train as train_command
from explorer.corpus import known_corpus_name

RECIPE = tomllib.loads((Path(__file__).resolve().parent.parent / "recipes" / "minilm_nsp.toml").read_text())
COMMON = [
    "--corpus",
    RECIPE["data"]["train_corpus"],
    "--max-length",
    str(RECIPE["data"]["max_length"]),
    *RECIPE["train"]["common"],
]


def _config(flags: list[str]):
    parser = argparse.ArgumentParser()
    train_command.add_arguments(parser)
    return train_command.config_from_args(parser.parse_args(flags))


@pytest.mark.parametrize("name", list(RECIPE["sweep"]["candidates"]))
def test_every_candidate_is_a_valid_training_run(name):
    config = _config([*COMMON, *RECIPE["sweep"]["candidates"][name]])
    assert config.corpus == RECIPE["data"]["train_corpus"] and config.max_length == RECIPE["data"]["max_length"]
    assert config.freeze_word_embeddings
    assert config.warmup == 0.05 and config.dropout == 0.0  # what the releases trained with, whatever the preset


def test_the_refinements_are_valid_training_runs_and_the_sweep_names_candidates():
    assert _config([*COMMON, *RECIPE["refine"]["args"]]).same_source_negatives
    step_4b = _config([*COMMON, *RECIPE["refine"]["args"], "--similar-negatives", "0.25", "--extra-corpus", "kjv"])
    assert step_4b.similar_negatives == 0.25
    assert set(RECIPE["sweep"]["swept"]) <= set(RECIPE["sweep"]["candidates"])
    assert all(0.0 <= share <= 1.0 for share in RECIPE["soup"]["shares"])
    assert all(known_corpus_name(name) for name in RECIPE["data"]["ood_corpora"])


SOP_RECIPE = tomllib.loads((Path(__file__).resolve().parent.parent / "recipes" / "minilm_sop.toml").read_text())


def test_the_sop_build_trains_sentence_order_on_the_nsp_models_documents():
    common = ["--corpus", SOP_RECIPE["data"]["train_corpus"], "--max-length", str(SOP_RECIPE["data"]["max_length"])]
    config = _config([*common, *SOP_RECIPE["train"]["common"]])
    assert config.mode == "sop" and config.train_what == "full" and config.batch_size == 128
    assert config.warmup == 0.05 and config.dropout == 0.0  # pinned: the quick demo preset's values may change
    assert 0 < SOP_RECIPE["export"]["low_rank"] <= 128  # 6 layers x rank x 6,912 x 2 bytes: rank 128 is 10.6 MB
    # the same corpus, length and seed as the NSP model, so both hold out the same documents
    assert config.corpus == RECIPE["data"]["train_corpus"] and config.max_length == RECIPE["data"]["max_length"]
    assert config.seed == 0 and config.freeze_word_embeddings
    assert set(SOP_RECIPE["sweep"]["starts"].values()) == {"bundled:minilm-nsp", "bundled:minilm-untrained"}
