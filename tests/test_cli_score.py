import json
import subprocess
import sys

import numpy as np
from conftest import ROOT

from explorer.labels import NOT_NEXT
from explorer.nsp import score_pair

A, B = "The man went to the store.", "Penguins are flightless birds."


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "explorer", *args], check=False, capture_output=True, text=True, cwd=ROOT, timeout=120
    )


def test_score_json_matches_the_library(tiny_bert_dir, tiny):
    proc = _cli("score", A, B, "--label", "notnext", "--model", str(tiny_bert_dir), "--device", "cpu", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    ref = score_pair(tiny, A, B, label=NOT_NEXT)
    assert data["tokens"] == ref.encoding.tokens
    assert data["input_ids"] == ref.encoding.input_ids
    assert data["token_type_ids"] == ref.encoding.token_type_ids
    np.testing.assert_allclose(data["logits"], ref.logits, atol=1e-6)
    assert abs(data["probabilities"]["IsNext"] - ref.p_is_next) < 1e-6
    assert abs(data["loss"] - ref.loss) < 1e-6 and data["label"] == "NotNext"


def test_score_text_output_with_the_bundled_model():
    proc = _cli("score", A, B, "--label", "isnext")
    assert proc.returncode == 0, proc.stderr
    assert "[CLS] the man went to the store . [SEP]" in proc.stdout and "CE = -log p(IsNext)" in proc.stdout


def test_cli_errors_are_clear_and_non_zero():
    empty = _cli("score", "", B)
    assert empty.returncode != 0 and "Sentence A is empty" in empty.stderr and "Traceback" not in empty.stderr
    unknown = _cli("score", A, B, "--model", "no-such-org/no-such-bert")
    assert unknown.returncode != 0 and "Could not find a model" in unknown.stderr
    assert "Traceback" not in unknown.stderr
