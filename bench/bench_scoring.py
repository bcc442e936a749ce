"""Scoring overhead: our full path for one pair vs a bare BertForNextSentencePrediction forward.

Both run on the same model and the same pair, interleaved in one process so that machine load hits
both alike. Ours = encode_pair (WordPiece, truncation, layout) + the NSP steps from the real modules +
the textbook-head comparison + numpy conversion. Bare = model(**inputs) with the inputs tensors
already built. Target: median ratio <= 1.10.

    .venv/bin/python bench/bench_scoring.py [--repeats 300] [--model bundled:minilm-untrained]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch
from results_file import write_results  # bench/results_file.py: this folder is on sys.path when run

from explorer.models import DEFAULT_SOURCE, load_model
from explorer.nsp import score_pair

A = "The man went to the store because the fridge at home was almost empty."
B = "He bought a gallon of milk, a loaf of bread and some eggs for breakfast."
RESULTS = Path(__file__).resolve().parent / "results" / "scoring.json"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=300)
    parser.add_argument("--model", default=DEFAULT_SOURCE)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    loaded = load_model(args.model, args.device)
    inputs = {k: v.to(loaded.device) for k, v in loaded.tokenizer(A, B, return_tensors="pt").items()}

    def bare():
        with torch.inference_mode():
            loaded.model(**inputs)

    def ours():
        score_pair(loaded, A, B, label=0)

    for _ in range(20):  # warm-up: allocator, oneDNN kernels
        bare(), ours()
    times: dict[str, list[float]] = {"bare": [], "ours": []}
    for i in range(args.repeats):
        order = (("bare", bare), ("ours", ours)) if i % 2 else (("ours", ours), ("bare", bare))
        for name, fn in order:
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    med = {k: statistics.median(v) * 1000 for k, v in times.items()}
    result = {
        "benchmark": "scoring overhead, one pair",
        "model": args.model,
        "device": str(loaded.device),
        "tokens": int(inputs["input_ids"].shape[1]),
        "repeats": args.repeats,
        "median_ms": med,
        "p90_ms": {k: statistics.quantiles(v, n=10)[-1] * 1000 for k, v in times.items()},
        "ratio_median": med["ours"] / med["bare"],
        "target": "ratio <= 1.10",
    }
    write_results(RESULTS, result)


if __name__ == "__main__":
    main()
