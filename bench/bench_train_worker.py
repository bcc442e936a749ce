"""In-app training in a child process (issue 17, item 3) against the CLI and the old in-server thread.

    .venv/bin/python bench/bench_train_worker.py [--runs 2] [--threads 2] [--modes thread,worker,cli]

The "quick demo" preset (60 s, fitted to its time limit), run alternately three ways, all with the same
torch thread count:
- cli: `python -m explorer train --preset "quick demo" --json` in a fresh process (the speed to match);
- worker: the app's run manager in this process (as the server's), training in a forkserver child;
  this process polls the run's events every 0.1 s as the page's live panel does;
- thread: the way before this change: the same Trainer in a thread of this process (the server).
Per run: steps, steps/s (the loop's own measure: training time only), final held-out loss and accuracy,
and the cold start: seconds from Start (the manager's start(), the thread's start, the CLI's launch) to
the first step event the caller sees. The worker's forkserver is started at the beginning, as the
server starts it with its first page. -> bench/results/train_worker.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from results_file import write_results  # bench/results_file.py: this folder is on sys.path when run

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results" / "train_worker.json"
POLL_S = 0.1

from explorer.training import EndEvent, EvalEvent, Event, StepEvent, Trainer, event_from_dict, preset, worker  # noqa: E402
from explorer.training.runs import RunManager  # noqa: E402


def describe(events: list[Event], first_step_s: float | None) -> dict:
    steps = [e for e in events if isinstance(e, StepEvent)]
    evals = [e for e in events if isinstance(e, EvalEvent)]
    end = next((e for e in reversed(events) if isinstance(e, EndEvent)), None)
    return {
        "steps_done": steps[-1].step if steps else 0,
        "steps_per_s": round(steps[-1].steps_per_s, 3) if steps else 0.0,
        "start_to_first_step_s": round(first_step_s, 2) if first_step_s is not None else None,
        "final_loss": round(evals[-1].heldout_loss, 4) if evals else None,
        "final_accuracy": round(evals[-1].accuracy, 4) if evals else None,
        "end": end.status if end else None,
        "load_1min_after": round(os.getloadavg()[0], 2),
    }


def watch(events_of, active, started: float) -> float | None:
    """Poll like the page's live panel; the seconds from `started` to the first step event seen."""
    first = None
    while active():
        if first is None and any(isinstance(e, StepEvent) for e in events_of()):
            first = time.perf_counter() - started
        time.sleep(POLL_S)
    return first


def run_worker(manager: RunManager, seed: int) -> dict:
    started = time.perf_counter()
    run = manager.start("bench", preset("quick demo", seed=seed))

    def active() -> bool:
        manager.heartbeat("bench")
        return run.active

    first = watch(run.events, active, started)
    manager.reset("bench")  # deletes the checkpoint, as the page's Reset does
    return describe(run.events(), first)


def run_thread(seed: int) -> dict:
    events: list[Event] = []
    lock = threading.Lock()

    def work() -> None:  # what the run manager's thread did before the child process
        trainer = Trainer(preset("quick demo", seed=seed))
        for event in trainer.run():
            with lock:
                events.append(event)

    started = time.perf_counter()
    thread = threading.Thread(target=work, daemon=True)
    thread.start()

    def copy() -> list[Event]:
        with lock:
            return list(events)

    first = watch(copy, thread.is_alive, started)
    return describe(copy(), first)


def run_cli(seed: int, threads: int) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "HF_HUB_OFFLINE": "1"}
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "explorer", "train", "--preset", "quick demo", "--json"]
        command += ["--seed", str(seed), "--out", out]
        started, first = time.perf_counter(), None
        events: list[Event] = []
        with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env) as child:
            assert child.stdout is not None
            for line in child.stdout:
                if line.startswith("{"):
                    events.append(event_from_dict(json.loads(line)))
                    if first is None and isinstance(events[-1], StepEvent):
                        first = time.perf_counter() - started
    return describe(events, first)


def summary(runs: list[dict]) -> dict:
    rates = [r["steps_per_s"] for r in runs]
    starts = [r["start_to_first_step_s"] for r in runs if r["start_to_first_step_s"] is not None]
    return {
        "median_steps_per_s": round(statistics.median(rates), 3),
        "median_steps": statistics.median(r["steps_done"] for r in runs),
        "median_start_to_first_step_s": round(statistics.median(starts), 2) if starts else None,
        "max_start_to_first_step_s": max(starts) if starts else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--modes", default="thread,worker,cli")
    parser.add_argument("--note", default="", help="the machine's load, for the results file")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    worker.prepare()  # as the server does with its first page
    modes = args.modes.split(",")
    runs: dict[str, list[dict]] = {m: [] for m in modes}
    with tempfile.TemporaryDirectory() as root:
        manager = RunManager(max_runs=1, checkpoint_root=Path(root) / "checkpoints")
        for _ in range(args.runs):  # alternated, so a change in machine load hits every mode
            for mode in modes:
                if mode == "worker":
                    result = run_worker(manager, args.seed)
                elif mode == "thread":
                    result = run_thread(args.seed)
                else:
                    result = run_cli(args.seed, args.threads)
                runs[mode].append(result)
                print(mode, json.dumps(result), flush=True)
    summaries = {m: summary(rs) for m, rs in runs.items()}
    if "cli" in summaries:
        for mode in ("worker", "thread"):
            if mode in summaries:
                ratio = summaries[mode]["median_steps_per_s"] / max(1e-9, summaries["cli"]["median_steps_per_s"])
                summaries[mode]["steps_per_s_vs_cli"] = round(ratio, 3)
    write_results(
        RESULTS,
        {
            "benchmark": "quick demo preset: CLI vs the run manager's child process vs the old in-server thread",
            "target": "worker steps/s >= 90% of the CLI's (issue 17); a fast Start (cold start before vs after)",
            "threads": args.threads,
            "summary": summaries,
            "runs": runs,
        },
        args.note,
    )


if __name__ == "__main__":
    main()
