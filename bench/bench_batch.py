"""The Batch tab's cost for a 64-pair batch with gradients, against a bare Hugging Face forward.

Ours (draw) = encode 64 pairs + the shared encoder once + copy the head + report (head forward, per-pair CE,
closed-form gradients and the autograd check). Ours (step) = one SGD step and the re-score. Page = one
AppTest rerun of the Batch tab with that batch drawn (the report, tables, heatmaps and charts). Bare =
BertForNextSentencePrediction(**inputs, labels=...) on the same padded inputs, no gradients. Draw and bare
are interleaved in one process so machine load hits both alike. Target: draw (and a page rerun) <= 1 s.

    .venv/bin/python bench/bench_batch.py [--repeats 30] [--k 64] [--model bundled:minilm-nsp]
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

from explorer.batch import sampled_pairs
from explorer.batch_lesson import start_lesson
from explorer.models import DEFAULT_SOURCE, load_model

RESULTS = Path(__file__).resolve().parent / "results" / "batch.json"


def page_source(model: str):
    """An AppTest script for the Batch tab alone, with the model named by the environment."""

    def batch_page() -> None:
        import os

        from explorer.ui.batch_view import render
        from explorer.ui.resources import cached_model

        render(cached_model(os.environ["NSP_BENCH_MODEL"], "cpu"), 128)

    os.environ["NSP_BENCH_MODEL"] = model
    return batch_page


def time_page(model: str, k: int, repeats: int) -> list[float]:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(page_source(model), default_timeout=300)
    at.session_state["batch_k"] = k
    at.run()
    at.button(key="batch_draw").click().run()  # draws and scores once (and loads the corpus)
    assert not at.exception, at.exception
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - start)
        assert not at.exception, at.exception
    return times


def summary(values: list[float]) -> dict:
    ms = sorted(v * 1000 for v in values)
    return {"median_ms": statistics.median(ms), "p95_ms": ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--k", type=int, default=64)
    parser.add_argument("--model", default=DEFAULT_SOURCE)
    args = parser.parse_args()

    loaded = load_model(args.model, "cpu")
    pairs = sampled_pairs(loaded.tokenizer, args.k, seed=0)
    lesson = start_lesson(loaded, pairs)
    inputs, labels = lesson.batch.inputs, lesson.batch.labels

    def bare() -> None:
        with torch.no_grad():
            loaded.model(**inputs, labels=labels)

    def draw() -> None:
        start_lesson(loaded, pairs).report("mean")

    for _ in range(3):  # warm-up: allocator, oneDNN kernels
        bare()
        draw()
    times: dict[str, list[float]] = {"bare": [], "draw": [], "step": []}
    for i in range(args.repeats):
        order = (("bare", bare), ("draw", draw)) if i % 2 else (("draw", draw), ("bare", bare))
        for name, fn in order:
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
        start = time.perf_counter()
        lesson.step(0.01)
        lesson.report("mean")
        times["step"].append(time.perf_counter() - start)
    times["page_rerun"] = time_page(args.model, args.k, max(5, args.repeats // 3))
    result = {
        "benchmark": f"Batch tab, {args.k} pairs with gradients",
        "model": args.model,
        "device": "cpu",
        "k": args.k,
        "padded_length": int(inputs["input_ids"].shape[1]),
        "repeats": args.repeats,
        **{name: summary(values) for name, values in times.items()},
        "ratio_draw_to_bare_median": statistics.median(times["draw"]) / statistics.median(times["bare"]),
        "target": "draw and page rerun <= 1000 ms on 2 CPU cores",
    }
    write_results(RESULTS, result, "shared with other jobs while measured")


if __name__ == "__main__":
    main()
