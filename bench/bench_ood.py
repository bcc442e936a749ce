"""The single-sentence out-of-domain benchmark on its TEST halves, written to bench/results/ood.json.

The shipped model and, for reference, the same encoder with an untrained head are scored on the same
pairs in one run. Also written: the committed slice explorer/data/ood_slice.jsonl (test pairs of the
sources whose licence lets the repository keep them) with the shipped model's numbers on it, which
tests/test_ood.py holds it to, and a check of the page's "not sure" note on test pairs (the note was
fitted on the validation halves).

    OMP_NUM_THREADS=1 nice -n 19 .venv/bin/python bench/bench_ood.py [--pairs 300] [--slice 40]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from explorer.models import BUNDLED_TRAINED, BUNDLED_UNTRAINED, load_model
from explorer.nsp import softmax
from explorer.ood import DEFAULT_SEED, benchmark_pairs, evaluate_benchmark, pair_to_dict
from explorer.ood_sources import OOD_SOURCES
from explorer.reliability import confidence_note

RESULTS = Path(__file__).resolve().parent / "results" / "ood.json"
SLICE = Path(__file__).resolve().parent.parent / "explorer" / "data" / "ood_slice.jsonl"


def note_check(loaded, result, labels: np.ndarray) -> dict:
    """How the validation-fitted note does on test pairs: accuracy of the answers it flags and of the others."""
    probs = softmax(result.logits)
    flagged = np.array([confidence_note(loaded, p) is not None for p in probs])
    right = probs.argmax(axis=1) == labels
    return {
        "flagged_share": float(flagged.mean()),
        "accuracy_flagged": float(right[flagged].mean()) if flagged.any() else None,
        "accuracy_not_flagged": float(right[~flagged].mean()) if (~flagged).any() else None,
        "n_flagged": int(flagged.sum()),
    }


def write_slice(pairs_by_source: dict, per_source: int) -> dict:
    kept = {name: pairs[:per_source] for name, pairs in pairs_by_source.items() if OOD_SOURCES[name].storable}
    with open(SLICE, "w", encoding="utf-8") as handle:
        for pairs in kept.values():
            for pair in pairs:
                handle.write(json.dumps(pair_to_dict(pair), ensure_ascii=False) + "\n")
    return kept


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=300, help="test pairs per source")
    parser.add_argument("--slice", type=int, default=40, help="pairs per storable source in the committed slice")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args()
    pairs = benchmark_pairs("test", args.pairs, args.seed)
    labels = np.array([p.label for v in pairs.values() for p in v])
    models = {}
    for source in (BUNDLED_TRAINED, BUNDLED_UNTRAINED):
        loaded = load_model(source, "cpu")
        result = evaluate_benchmark(loaded, pairs)
        models[source] = result.to_dict()
        if source == BUNDLED_TRAINED:
            models[source]["note_on_test_pairs"] = note_check(loaded, result, labels)
            sliced = write_slice(pairs, args.slice)
            models[source]["slice"] = evaluate_benchmark(loaded, sliced).to_dict()["overall"]
        print(source, json.dumps(models[source]["overall"]))
    data = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, shared with other jobs",
        "half": "test",
        "seed": args.seed,
        "pairs_per_source": {name: len(v) for name, v in pairs.items()},
        "sources": {
            name: {"style": s.style, "package": s.package, "licence": s.licence} for name, s in OOD_SOURCES.items()
        },
        "slice_file": str(SLICE.relative_to(SLICE.parent.parent.parent)),
        "models": models,
    }
    RESULTS.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
