"""`python -m explorer sample`: JSON lines that obey the sampler's invariants."""

import json
import subprocess
import sys

from conftest import ROOT


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "explorer", "sample", *args],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=180,
    )


def _rows(proc):
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def test_sample_json_on_the_default_corpus():
    rows = _rows(_cli("--n", "200", "--seed", "3", "--json", "--max-length", "64"))
    assert len(rows) == 200
    for row in rows:
        assert {"a", "b", "label", "doc_a", "doc_b", "mode", "a_tokens", "b_tokens"} <= set(row)
        assert row["a"].strip() and row["b"].strip() and row["a_tokens"] >= 1 and row["b_tokens"] >= 1
        assert row["a_tokens"] + row["b_tokens"] <= 64 - 3
        if row["label"] == 1:
            assert row["doc_a"] != row["doc_b"]
        else:
            assert row["doc_a"] == row["doc_b"] and row["b_span"][0] == row["a_span"][1]
    assert 60 <= sum(r["label"] for r in rows) <= 140
    assert _rows(_cli("--n", "200", "--seed", "3", "--json", "--max-length", "64")) == rows


def test_sample_from_a_file_in_sop_mode(tmp_path):
    text = "\n\n".join(
        "\n".join(f"Story {d} goes on with event number {i} of the day." for i in range(8)) for d in range(4)
    )
    path = tmp_path / "stories.txt"
    path.write_text(text, encoding="utf-8")
    rows = _rows(_cli("--corpus", str(path), "--mode", "sop", "--n", "40", "--json", "--not-next-share", "0.25"))
    assert len(rows) == 40 and all(r["mode"] == "sop" and r["doc_a"] == r["doc_b"] for r in rows)
    assert all("Story" in r["a"] for r in rows)


def test_bad_corpus_and_arguments_are_clear_errors(tmp_path):
    one = tmp_path / "one.txt"
    one.write_text("Only one document here.\nIt has two sentences.\n", encoding="utf-8")
    proc = _cli("--corpus", str(one))
    assert proc.returncode == 2 and "only one document" in proc.stderr and "Traceback" not in proc.stderr
    proc = _cli("--corpus", str(tmp_path / "missing.txt"))
    assert proc.returncode == 2 and "Cannot read" in proc.stderr
    proc = _cli("--not-next-share", "2")
    assert proc.returncode == 2 and "between 0 and 1" in proc.stderr


def test_sample_from_a_named_corpus_equals_the_library():
    from transformers import BertTokenizerFast

    from explorer.corpus import load_corpus
    from explorer.models import bundled_encoder_dir
    from explorer.sampling import PairSampler

    rows = _rows(_cli("--corpus", "news", "--n", "30", "--seed", "13", "--json"))
    tokenizer = BertTokenizerFast.from_pretrained(bundled_encoder_dir())
    pairs = PairSampler(load_corpus("news"), tokenizer, seed=13).sample_many(30)
    assert [(r["a"], r["b"], r["label"]) for r in rows] == [(p.a, p.b, p.label) for p in pairs]


def test_similar_negatives_from_the_command_line(tmp_path):
    from explorer.corpus_text import corpus_from_path
    from explorer.sampling import similar_documents

    themes = [
        "cats purr and kittens play with yarn",
        "ships sail the sea and sailors row",
        "bakers bake bread and flour rises",
    ]
    docs = [" ".join(f"Story about {themes[d % 3]} in part {i} of tale {d}." for i in range(6)) for d in range(30)]
    path = tmp_path / "themes.txt"
    path.write_text("\n\n".join(docs), encoding="utf-8")
    rows = _rows(
        _cli(
            "--corpus",
            str(path),
            "--mode",
            "sentences",
            "--n",
            "60",
            "--json",
            "--not-next-share",
            "1",
            "--similar-negatives",
            "1",
        )
    )
    corpus = corpus_from_path(str(path))
    n = len(corpus.documents)
    near = similar_documents(corpus, [list(range(n))] * n)
    assert len(rows) == 60 and all(r["label"] == 1 and r["doc_b"] in near[r["doc_a"]] for r in rows)
    # 9 of each document's 10 neighbours share its theme; a uniform draw would match 9 of 29 others
    assert sum(r["doc_a"] % 3 == r["doc_b"] % 3 for r in rows) >= 45
    proc = _cli("--similar-negatives", "1.5")
    assert proc.returncode == 2 and "--similar-negatives must lie between 0 and 1" in proc.stderr
