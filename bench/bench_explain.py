""" "Why this answer?" costs, each next to its baseline in the same run (interleaved, so machine load hits both).

1. Integrated gradients, 32 steps, a 40-token pair: ours (all steps in one batch on a private twin of the
   model) vs Captum's LayerIntegratedGradients called plainly (no internal_batch_size: Captum then also runs
   every step in one batch) vs one step per pass (internal_batch_size=1, the unbatched loop). Target <= 1.0 s.
2. Occlusion of a 20-word pair (21 variants in one batch). Target <= 0.3 s.
3. The eager attention pass (weights returned) vs the normal scoring pass. Target: ratio <= 1.3.

    .venv/bin/python bench/bench_explain.py [--repeats 7] [--model bundled:minilm-nsp]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import torch
from captum.attr import LayerIntegratedGradients
from results_file import write_results  # bench/results_file.py: this folder is on sys.path when run

from explorer.attention import attention_pass, model_twin
from explorer.attribution import _log_p_is_next, integrated_gradients, occlusion, pad_baseline
from explorer.encoding import encode_pair
from explorer.models import DEFAULT_SOURCE, load_model
from explorer.nsp import score_pair
from explorer.pair_words import pair_words

# 40 tokens with [CLS] and the two [SEP]; 20 words in the second pair.
IG_A = "The man went to the store because the fridge at home was almost empty after the weekend."
IG_B = "He bought a gallon of milk, a loaf of fresh bread and some eggs for the breakfast."
OCC_A = "The man went to the store because the fridge was empty."
OCC_B = "He bought milk, bread and eggs."
RESULTS = Path(__file__).resolve().parent / "results" / "explain.json"


def timed(fns: dict[str, Callable[[], object]], repeats: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in fns}
    for i in range(repeats):
        order = list(fns.items())
        for name, fn in order if i % 2 else reversed(order):
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def summary(times: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    return {
        name: {"median_s": statistics.median(v), "p95_s": float(np.percentile(v, 95)), "n": len(v)}
        for name, v in times.items()
    }


def captum_plain(loaded, encoding, steps: int, internal_batch_size: int | None):
    twin = model_twin(loaded)
    inputs = encoding.tensors(loaded.device)
    baseline = torch.tensor([pad_baseline(encoding, loaded.tokenizer.pad_token_id)])
    ig = LayerIntegratedGradients(_log_p_is_next(twin), twin.bert.embeddings.word_embeddings)
    return ig.attribute(
        inputs["input_ids"],
        baselines=baseline,
        additional_forward_args=(inputs["token_type_ids"], inputs["attention_mask"]),
        n_steps=steps,
        internal_batch_size=internal_batch_size,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--unbatched-repeats", type=int, default=3)
    parser.add_argument("--model", default=DEFAULT_SOURCE)
    args = parser.parse_args()
    loaded = load_model(args.model, "cpu")
    ig_pair = encode_pair(loaded.tokenizer, IG_A, IG_B)
    occ_pair = encode_pair(loaded.tokenizer, OCC_A, OCC_B)
    assert len(ig_pair.tokens) == 40 and len(pair_words(occ_pair)) == 20, (
        len(ig_pair.tokens),
        len(pair_words(occ_pair)),
    )
    for _ in range(2):  # warm-up
        integrated_gradients(loaded, ig_pair, 32), occlusion(loaded, occ_pair), attention_pass(loaded, IG_A, IG_B)

    ig = timed(
        {
            "ours": lambda: integrated_gradients(loaded, ig_pair, 32),
            "captum_default_call": lambda: captum_plain(loaded, ig_pair, 32, None),
        },
        args.repeats,
    )
    ig |= timed({"captum_one_step_per_pass": lambda: captum_plain(loaded, ig_pair, 32, 1)}, args.unbatched_repeats)
    occ = timed({"occlusion_20_words": lambda: occlusion(loaded, occ_pair)}, args.repeats)
    att = timed(
        {
            "attention_pass": lambda: attention_pass(loaded, IG_A, IG_B),
            "score_pair": lambda: score_pair(loaded, IG_A, IG_B),
        },
        args.repeats * 5,
    )
    ig_s, occ_s, att_s = summary(ig), summary(occ), summary(att)
    result = {
        "benchmark": "explain: integrated gradients, occlusion, attention pass",
        "model": args.model,
        "device": "cpu",
        "integrated_gradients_32_steps_40_tokens": ig_s,
        "ig_speedup_vs_one_step_per_pass": ig_s["captum_one_step_per_pass"]["median_s"] / ig_s["ours"]["median_s"],
        "occlusion": occ_s,
        "attention_vs_normal_forward": att_s,
        "attention_ratio_median": att_s["attention_pass"]["median_s"] / att_s["score_pair"]["median_s"],
        "targets": "IG <= 1.0 s; occlusion of 20 words <= 0.3 s; attention pass <= 1.3x the normal forward",
    }
    write_results(RESULTS, result, f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
