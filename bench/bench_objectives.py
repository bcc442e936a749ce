"""How long the NSP / SOP / no-objective cross table takes, against the bare forward passes it needs.

The table is `len(rows) x 4 tasks x N` pair scorings. The floor is the model's own forward pass over the
same pairs (tokenised, padded, no_grad), timed here on a sample of each task's pairs and scaled to N;
the ratio says how much the table adds on top of the model. With --write-shipped the measured table is
also saved as explorer/data/objectives.json, the file the page shows.

    .venv/bin/python bench/bench_objectives.py [--pairs 2000] [--floor-sample 256] [--write-shipped]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch

from bench.results_file import write_results
from explorer.encoding import DEFAULT_MAX_LENGTH, encode_pair
from explorer.models import BUNDLED_SOURCES, load_model
from explorer.nsp import pad_batch
from explorer.objectives import SHIPPED_ROWS, TABLE_FILE, all_task_pairs, model_row, table_of

RESULTS = Path(__file__).resolve().parent / "results" / "objectives.json"
BATCH = 64


@torch.no_grad()
def bare_forward_seconds(loaded, pairs) -> float:
    """The model's forward pass alone over these pairs (encoding done beforehand, not timed)."""
    tokenizer = loaded.tokenizer
    encoded = [encode_pair(tokenizer, p.a, p.b, DEFAULT_MAX_LENGTH, loaded.max_positions) for p in pairs]
    batches = [
        pad_batch([e.input_ids for e in chunk], [e.token_type_ids for e in chunk], tokenizer.pad_token_id)
        for chunk in (encoded[i : i + BATCH] for i in range(0, len(encoded), BATCH))
    ]
    started = time.perf_counter()
    for batch in batches:
        loaded.model(**batch)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=2000, help="pairs per cell")
    parser.add_argument("--floor-sample", type=int, default=256, help="pairs per task timed for the floor")
    parser.add_argument("--write-shipped", action="store_true", help="also write explorer/data/objectives.json")
    parser.add_argument("--note", default="", help="what else ran on the machine")
    args = parser.parse_args()

    rows = [(source, objective) for source, objective in SHIPPED_ROWS if source in BUNDLED_SOURCES]
    models = [(load_model(source, "cpu"), objective) for source, objective in rows]
    started = time.perf_counter()
    pairs = all_task_pairs(models[0][0].tokenizer, args.pairs)
    sampling_s = time.perf_counter() - started
    table_rows = [model_row(loaded, objective, pairs) for loaded, objective in models]
    table_s = time.perf_counter() - started
    sample = [p for task_pairs in pairs.values() for p in task_pairs[: args.floor_sample]]
    scale = args.pairs / min(args.pairs, args.floor_sample)
    floor_s = sum(bare_forward_seconds(loaded, sample) * scale for loaded, _ in models)
    print(f"table {table_s:.1f} s (sampling {sampling_s:.1f} s), bare forward floor {floor_s:.1f} s", flush=True)
    if args.write_shipped:
        table = table_of(table_rows, args.pairs, table_s)
        TABLE_FILE.write_text(json.dumps(table, indent=1) + "\n", encoding="utf-8")
    write_results(
        RESULTS,
        {
            "pairs_per_cell": args.pairs,
            "rows": [r["objective"] for r in table_rows],
            "cells": len(table_rows) * len(pairs),
            "table_seconds": table_s,
            "sampling_seconds": sampling_s,
            "row_seconds": {r["objective"]: r["seconds"] for r in table_rows},
            "bare_forward_floor_seconds": floor_s,
            "ratio_to_floor": (table_s - sampling_s) / floor_s,
            "target_seconds": 60,
            "accuracy": {r["objective"]: {k: c["accuracy"] for k, c in r["cells"].items()} for r in table_rows},
        },
        args.note,
    )


if __name__ == "__main__":
    main()
