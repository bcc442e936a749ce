import json
import math
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT

from explorer.evaluate import EvalFileError, parse_pairs, report_from_logits


def test_metrics_by_hand():
    # p(IsNext) = 0.8, 0.4, 0.1, 0.6 for true labels 0, 0, 1, 1
    p = np.array([0.8, 0.4, 0.1, 0.6])
    logits = np.stack([np.log(p), np.log(1 - p)], axis=1)
    report = report_from_logits(logits, np.array([0, 0, 1, 1]), n_bins=10)
    assert report.confusion.tolist() == [[1, 1], [1, 1]]  # rows true, columns predicted
    assert report.accuracy == pytest.approx(0.5)  # right: pairs 1 and 3
    expected_loss = -(math.log(0.8) + math.log(0.4) + math.log(0.9) + math.log(0.4)) / 4
    assert report.mean_loss == pytest.approx(expected_loss)
    # confidences 0.8 (right), 0.6 (wrong), 0.9 (right), 0.6 (wrong): bins (0.5,0.6], (0.7,0.8], (0.8,0.9]
    expected_ece = (2 / 4) * abs(0 - 0.6) + (1 / 4) * abs(1 - 0.8) + (1 / 4) * abs(1 - 0.9)
    assert report.ece == pytest.approx(expected_ece)
    assert sum(b.count for b in report.bins) == 4


def test_csv_and_jsonl_parse():
    csv_pairs = parse_pairs(b'a,b,label\nOne.,Two.,0\n"Three, four.",Five.,1\n')
    assert [(p.a, p.b, p.label) for p in csv_pairs] == [("One.", "Two.", 0), ("Three, four.", "Five.", 1)]
    jsonl = b'{"a": "One.", "b": "Two.", "label": 1}\n\n{"a": "x", "b": "y", "label": 0}\n'
    assert [p.label for p in parse_pairs(jsonl)] == [1, 0]


@pytest.mark.parametrize(
    "data,match",
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"a,b\nx,y\n", "missing the column"),
        (b"a,b,label\nx,y,2\n", "label must be 0"),
        (b"a,b,label\nx,y,IsNext\n", "label must be 0"),
        (b'{"a": "x", "b": "y"}\n', "needs the keys"),
        (b'{"a": "x", "b": "y", "label": true}\n', "label must be 0"),
        (b'{"a": "x", "b": "y", "label": 0\n', "not valid JSON"),
        (b"a,b,label\n,y,0\n", "non-empty"),
        (b"a,b,label\n", "no pairs"),
        (b"\xff\xfe\x00bad", "not UTF-8"),
    ],
)
def test_bad_files_are_refused_clearly(data, match):
    with pytest.raises(EvalFileError, match=match):
        parse_pairs(data, "pairs.csv")


def test_eval_cli_counts_and_loss(tmp_path, tiny_bert_dir, tiny):
    from explorer.nsp import score_pair

    rows = [
        ("The man went to the store.", "He bought milk.", 0),
        ("The man went to the store.", "Penguins swim.", 1),
        ("It rained.", "We stayed in.", 0),
    ]
    path = tmp_path / "pairs.jsonl"
    path.write_text("\n".join(json.dumps({"a": a, "b": b, "label": y}) for a, b, y in rows))
    proc = subprocess.run(
        [sys.executable, "-m", "explorer", "eval", str(path), "--model", str(tiny_bert_dir), "--json"],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    results = [score_pair(tiny, a, b, label=y) for a, b, y in rows]
    assert data["n"] == 3
    assert data["mean_loss"] == pytest.approx(np.mean([r.loss for r in results]), abs=1e-5)
    predicted = [r.predicted for r in results]
    assert data["accuracy"] == pytest.approx(np.mean([p == y for p, (_, _, y) in zip(predicted, rows)]))
    assert sum(map(sum, data["confusion"]["counts"])) == 3


def test_eval_cli_bad_file(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("x,y\n1,2\n")
    proc = subprocess.run(
        [sys.executable, "-m", "explorer", "eval", str(path)],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 2 and "missing the column" in proc.stderr and "Traceback" not in proc.stderr


def test_a_pair_that_cannot_be_encoded_is_named_by_its_number(bundled):
    # A zero-width space passes the file check (it is text) but leaves no WordPiece token to score.
    from explorer.encoding import PairInputError
    from explorer.evaluate import LabelledPair, evaluate_pairs

    pairs = [LabelledPair("It rained.", "The streets were wet.", 0) for _ in range(3)]
    pairs.insert(2, LabelledPair("\u200b", "The streets were wet.", 0))
    with pytest.raises(PairInputError, match=r"^Pair 3: Sentence A"):
        evaluate_pairs(bundled, pairs, batch_size=2)


@pytest.mark.parametrize(
    "data, words",
    [
        (b'a,b,label\n"It rained.,Then it stopped.,0\nA dog.,It barked.,1\n', "line 2: a double quote opens a field"),
        (b'a,b,label\n"It "rained".",x,0\n', "line 2: a quoted field goes on after its closing quote"),
    ],
)
def test_broken_quotes_are_named_not_read_as_one_long_field(data, words):
    with pytest.raises(EvalFileError, match=words):
        parse_pairs(data, "pairs.csv")
    assert parse_pairs(b'a,b,label\n"It ""rained"".",x,0\n', "ok.csv")[0].a == 'It "rained".'
