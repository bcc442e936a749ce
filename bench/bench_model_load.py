"""Start-up cost of the shipped NSP model: base package alone vs base + stored delta.

Each load runs in a fresh Python process (imports done before the clock starts), alternating the
two sources, so file reads and allocation are counted as the app's first load pays them.
Target: the delta adds at most 1 s.

    .venv/bin/python bench/bench_model_load.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "model_load.json"
PROBE = """
import time
import explorer.models as m
start = time.perf_counter()
m.load_model({source!r}, "cpu")
print(time.perf_counter() - start)
"""


def load_seconds(source: str) -> float:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(source=source)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    sources = {"base (untrained head)": "bundled:minilm-untrained", "base + NSP delta": "bundled:minilm-nsp"}
    times: dict[str, list[float]] = {name: [] for name in sources}
    for _ in range(args.repeats):
        for name, source in sources.items():
            times[name].append(load_seconds(source))
    medians = {name: statistics.median(t) for name, t in times.items()}
    result = {
        "benchmark": "model load time in a fresh process",
        "median_s": medians,
        "all_s": times,
        "delta_cost_s": medians["base + NSP delta"] - medians["base (untrained head)"],
        "target": "delta adds <= 1 s",
        "load_average_at_start": os.getloadavg()[0],
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
