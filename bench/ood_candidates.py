"""Issue 15's rule for a candidate model: choose by the validation halves, report the test halves.

Scores each model on both halves of the single-sentence out-of-domain benchmark (explorer/ood.py;
the shipped model is always the first), and fits one temperature per model on the validation half
to show what calibration alone would do to the test half's ECE. Nothing here is fitted on test pairs.

    .venv/bin/python bench/ood_candidates.py --model /path/to/checkpoint [--model ...] [--pairs 300]

Results: bench/results/ood_candidates.json (each run recorded in results/ood_attempts.md).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from results_file import write_results  # beside this script

from explorer.calibration import fit_temperature
from explorer.evaluate import EvalReport, report_from_logits
from explorer.models import DEFAULT_SOURCE, load_model
from explorer.ood import DEFAULT_SEED, benchmark_pairs, evaluate_benchmark

RESULTS = Path(__file__).resolve().parent / "results" / "ood_candidates.json"
HALVES = ("validation", "test")


def brief(report: EvalReport) -> dict:
    full = report.to_dict()
    keys = ("n", "accuracy", "mean_loss", "ece")
    return {k: round(full[k], 4) if isinstance(full[k], float) else full[k] for k in keys}


def score(source: str, halves: dict, labels: dict) -> dict:
    loaded = load_model(source, "cpu")
    results = {half: evaluate_benchmark(loaded, halves[half]) for half in HALVES}
    temperature = fit_temperature(results["validation"].logits, labels["validation"])
    out: dict = {}
    for half in HALVES:
        out[half] = brief(results[half].overall)
        out[f"{half}_per_source"] = {name: brief(r) for name, r in results[half].per_source.items()}
    out["temperature_fitted_on_validation"] = round(temperature, 3)
    out["test_with_that_temperature"] = brief(report_from_logits(results["test"].logits / temperature, labels["test"]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", default=[], help="a candidate (folder or bundled: name)")
    parser.add_argument("--pairs", type=int, default=300, help="pairs per source and half (at most)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    halves = {half: benchmark_pairs(half, args.pairs, args.seed) for half in HALVES}
    labels = {
        half: np.array([p.label for pairs in halves[half].values() for p in pairs], dtype=np.int64) for half in HALVES
    }
    models = {}
    for source in [DEFAULT_SOURCE, *args.model]:
        models[source] = score(source, halves, labels)
        print(source, json.dumps({k: models[source][k] for k in ("validation", "test", "test_with_that_temperature")}))
    write_results(args.out, {"pairs_per_source": args.pairs, "seed": args.seed, "models": models}, "CPU only")


if __name__ == "__main__":
    main()
