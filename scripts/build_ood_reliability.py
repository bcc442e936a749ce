"""Write explorer/data/ood_reliability.json: the shipped model's accuracy per confidence band on the
VALIDATION halves of the out-of-domain benchmark, which the Explorer's "not sure" note reads.

    OMP_NUM_THREADS=1 nice -n 19 .venv/bin/python scripts/build_ood_reliability.py [--pairs 300]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from explorer.models import BUNDLED_TRAINED, load_model
from explorer.ood import DEFAULT_SEED, benchmark_pairs
from explorer.reliability import RELIABILITY_PATH, reliability_table


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=300, help="validation pairs per source")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, default=RELIABILITY_PATH)
    args = parser.parse_args()
    pairs = benchmark_pairs("validation", args.pairs, args.seed)
    table = reliability_table(load_model(BUNDLED_TRAINED, "cpu"), pairs, args.seed)
    args.out.write_text(json.dumps(table, indent=1) + "\n", encoding="utf-8")
    for b in table["bins"]:
        flag = "  <- not sure" if b["not_sure"] else ""
        low = b["accuracy_low_95"]
        print(
            f"{b['low']:.1f}-{b['high']:.1f}: {b['count']:4d} pairs, "
            f"right {b['accuracy']:.1%} (95% from {low:.1%}){flag}"
        )


if __name__ == "__main__":
    main()
