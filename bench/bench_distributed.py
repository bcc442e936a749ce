"""torchrun on CPU: 2 processes x 1 thread (gloo, DDP) vs 1 process x 2 threads, at the same global batch.

    .venv/bin/python bench/bench_distributed.py [--steps 30] [--repeats 2]

Both train the quick demo's first recipe (bundled MiniLM, sentences of 32 tokens, global batch 32) with
`python -m explorer train --json`, alternating one run of each per repeat so that the machine's load
(shared with other work) falls on both alike; steps/s is the loop's own figure at the last step
(evaluation excluded). Writes bench/results/distributed.json with the 1-minute load average.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "distributed.json"


def train_args(steps: int, out: Path) -> list[str]:
    return [
        "-m", "explorer", "train", "--preset", "quick demo", "--mode", "sentences", "--batch-size", "32",
        "--steps", str(steps), "--no-time-limit",
        "--eval-every", str(10 * steps), "--eval-pairs", "32", "--device", "cpu", "--json", "--out", str(out),
    ]  # fmt: skip


def steps_per_s(stdout: str) -> float:
    steps = [json.loads(line) for line in stdout.splitlines() if line.startswith('{"kind": "step"')]
    return float(steps[-1]["steps_per_s"])


def one_run(processes: int, threads: int, steps: int, out: Path) -> float:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, *train_args(steps, out)]
    if processes > 1:  # torchrun's own -m runs the explorer package in each process
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}"]
        command += train_args(steps, out)
    done = subprocess.run(command, check=True, capture_output=True, text=True, env=env, cwd=ROOT)
    return steps_per_s(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    out = Path("/tmp") / f"nsp-bench-distributed-{os.getpid()}"
    setups = {"1 process x 2 threads": (1, 2), "2 processes x 1 thread (torchrun, gloo)": (2, 1)}
    rates: dict[str, list[float]] = {name: [] for name in setups}
    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    for _ in range(args.repeats):
        for name, (processes, threads) in setups.items():
            rates[name].append(one_run(processes, threads, args.steps, out / name.split()[0]))
            print(f"{name}: {rates[name][-1]:.3f} steps/s", flush=True)
    single, ddp = (statistics.median(r) for r in rates.values())
    result = {
        "recipe": "quick demo (bundled MiniLM, sentences, max length 32, global batch 32, frozen word embeddings)",
        "steps_per_run": args.steps,
        "steps_per_s_runs": rates,
        "steps_per_s_median": {name: statistics.median(r) for name, r in rates.items()},
        "ratio_2proc_over_1proc": ddp / single,
        "load_average_1min_before_after": [load_before, os.getloadavg()[0]],
        "cpus": os.cpu_count(),
        "seconds": time.perf_counter() - t0,
        "note": "2 CPU cores shared with other work (other engineers' tests); compare the two columns only",
    }
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
