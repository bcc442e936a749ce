"""The single-sentence out-of-domain benchmark: its sources, halves and pairs, the command, the committed slice."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from explorer.cli import main
from explorer.corpus import Corpus, load_corpus
from explorer.evaluate import read_pairs, report_from_logits
from explorer.labels import IS_NEXT, NOT_NEXT
from explorer.ood import (
    HALVES,
    TRAINING_CORPORA,
    benchmark_pairs,
    build_pairs,
    check_not_training,
    split_halves,
)
from explorer.ood_sources import OOD_SOURCES, load_ood_corpus

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "ood.json"
SLICE = ROOT / "explorer" / "data" / "ood_slice.jsonl"


@pytest.fixture(scope="module")
def validation_pairs():
    return benchmark_pairs("validation", 40)


def test_no_source_is_a_training_corpus():
    check_not_training(list(OOD_SOURCES))
    assert not set(OOD_SOURCES) & set(TRAINING_CORPORA)
    with pytest.raises(ValueError, match="training corpora"):
        check_not_training(["bbc", "sotu"])
    with pytest.raises(ValueError, match="training corpora"):
        build_pairs(Corpus("wiki", [["One two three.", "Four five six."], ["Seven eight nine."]]), 2)


def test_no_reserved_text_is_read():
    """Jane Austen's novels and the Python documentation are reserved for an independent check."""
    for name in OOD_SOURCES:
        corpus = load_ood_corpus(name)
        titles = " ".join(corpus.titles).lower()
        text = " ".join(s for doc in corpus.documents for s in doc)
        assert "austen" not in titles and "pride and prejudice" not in text.lower()
        assert "virtualenv" not in titles and "eg page eg" not in titles and "docs.python.org" not in text


def test_the_halves_split_each_source_by_document_the_same_way_every_time():
    for name in OOD_SOURCES:
        corpus = load_ood_corpus(name)
        halves, again = split_halves(corpus, 3), split_halves(corpus, 3)
        seen = [set(map(tuple, halves[h].documents)) for h in HALVES]
        assert not seen[0] & seen[1]
        assert len(seen[0]) + len(seen[1]) == len(corpus.documents)
        assert all(halves[h].documents == again[h].documents for h in HALVES)
        assert split_halves(corpus, 4)["validation"].documents != halves["validation"].documents


def test_same_seed_same_pairs_other_seed_other_pairs(validation_pairs):
    assert benchmark_pairs("validation", 40) == validation_pairs
    assert benchmark_pairs("validation", 40, seed=16) != validation_pairs
    assert benchmark_pairs("test", 40) != validation_pairs


def test_pairs_follow_bert_s_draw_within_their_half(validation_pairs):
    for name, pairs in validation_pairs.items():
        half = split_halves(load_ood_corpus(name))["validation"]
        docs = {title: doc for title, doc in zip(half.titles, half.documents, strict=True)}
        labels = [p.label for p in pairs]
        assert len(pairs) == 40 and labels.count(IS_NEXT) == labels.count(NOT_NEXT)
        assert len({p.a for p in pairs}) == len(pairs)  # each A once
        others = {s for doc in half.documents for s in doc}
        for pair in pairs:
            doc = docs[pair.document]
            assert pair.source == name and pair.a in doc and pair.b in others
            follows = any(doc[i] == pair.a and doc[i + 1] == pair.b for i in range(len(doc) - 1))
            follows_anywhere = any(
                d[i] == pair.a and d[i + 1] == pair.b for d in half.documents for i in range(len(d) - 1)
            )
            assert follows if pair.label == IS_NEXT else pair.b not in doc and not follows_anywhere


def test_no_pair_uses_a_sentence_of_a_training_document(validation_pairs):
    training = {s for name in TRAINING_CORPORA for doc in load_corpus(name).documents for s in doc}
    for pairs in (*validation_pairs.values(), *benchmark_pairs("test", 40).values()):
        assert not {s for p in pairs for s in (p.a, p.b)} & training


def test_the_command_rejects_bad_numbers_with_exit_code_2(capsys):
    assert main(["ood", "--pairs", "0"]) == 2
    assert "--pairs" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["ood", "--half", "train"])


def test_the_command_prints_a_table_per_model(capsys):
    assert main(["ood", "--pairs", "2", "--half", "validation"]) == 0
    out = capsys.readouterr().out
    assert "bundled:minilm-nsp (shipped)" in out and all(name in out for name in OOD_SOURCES)


def test_the_command_reports_each_source_and_the_baseline(capsys):
    assert main(["ood", "--pairs", "4", "--half", "validation", "--model", "bundled:minilm-untrained", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data["models"]) == {"bundled:minilm-nsp", "bundled:minilm-untrained"}
    for result in data["models"].values():
        assert set(result["per_source"]) == set(OOD_SOURCES)
        assert result["overall"]["n"] == 4 * len(OOD_SOURCES)
        assert 0 <= result["overall"]["ece"] <= 1


def test_the_slice_holds_only_storable_test_pairs():
    pairs = [json.loads(line) for line in SLICE.read_text(encoding="utf-8").splitlines()]
    assert pairs and all(OOD_SOURCES[p["source"]].storable for p in pairs)
    test = benchmark_pairs("test", 300)
    for p in pairs:
        assert (p["a"], p["b"], p["label"]) in {(q.a, q.b, q.label) for q in test[p["source"]]}


def test_the_shipped_model_keeps_its_numbers_on_the_committed_slice(bundled_trained):
    """The release's measured numbers (bench/bench_ood.py) on the committed slice are a floor."""
    from explorer.nsp import score_pairs

    recorded = json.loads(RESULTS.read_text(encoding="utf-8"))["models"]["bundled:minilm-nsp"]["slice"]
    pairs = read_pairs(SLICE)
    report = report_from_logits(
        score_pairs(bundled_trained, [(p.a, p.b) for p in pairs]), np.array([p.label for p in pairs])
    )
    assert report.n == recorded["n"]
    assert report.accuracy >= recorded["accuracy"]
    assert report.mean_loss <= recorded["mean_loss"] + 1e-3
    assert report.ece <= recorded["ece"] + 1e-3


@pytest.fixture(scope="module")
def bundled_trained():
    from explorer.models import BUNDLED_TRAINED, load_model

    return load_model(BUNDLED_TRAINED, "cpu")
