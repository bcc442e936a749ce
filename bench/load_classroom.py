"""A classroom on one server: N simulated students editing at once, over Streamlit's own protocol.

Each student (harness/classroom_client.py) opens the page, then, after a random think time of 5-10 s,
commits an edit and reads the new p(IsNext): odd steps edit sentence B, even steps put a whole
sampled pair into A and B. Pairs and sentences come from explorer/data/everyday_pairs.csv, B often
two of its sentences joined, so that edits rarely repeat a pair (the page caches per pair).
Students arrive within the first 5 s of a phase. Per number of students N it reports the median
and p95 of edit -> new p(IsNext), the errors, the server's RSS (peak during the phase, and after
all students left and their sessions expired) and the server's CPU (cores busy on average).

    .venv/bin/python bench/load_classroom.py                      # N = 1, 10, 30, 60, this checkout
    .venv/bin/python bench/load_classroom.py --baseline-dir DIR   # the same, DIR's app side by side
    .venv/bin/python bench/load_classroom.py --url http://host:8501 --pids 123,456 --label proxy

With --baseline-dir the two apps run one after the other for each N (same machine, same minutes).
With --url it drives a server already running (e.g. ./serve_classroom.sh); --pids names the
server processes whose RSS and CPU are read from /proc. Results: bench/results/classroom.json
(or --out).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import random
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root: harness/
from harness import app_server as harness
from harness.classroom_client import Student

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results" / "classroom.json"
PAIRS_CSV = ROOT / "explorer" / "data" / "everyday_pairs.csv"
TARGET_P95_MS = 500
SESSION_TTL_S = 10  # the bench server forgets a closed tab's session after this (Streamlit's default: 120 s)


def everyday_pairs() -> list[tuple[str, str]]:
    with PAIRS_CSV.open(newline="") as f:
        return [(row["a"], row["b"]) for row in csv.DictReader(f)]


def next_edit(rng: random.Random, step: int, pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Odd steps: a new sentence B; even steps: a sampled pair into A and B."""
    sentences = [s for pair in pairs for s in pair]
    b = rng.choice(sentences)
    if rng.random() < 0.7:
        b = f"{b} {rng.choice(sentences)}"
    if step % 2:
        return {"Sentence B": b}
    a, _ = rng.choice(pairs)
    return {"Sentence A": a, "Sentence B": b}


@dataclass
class Phase:
    latencies_ms: list[float] = field(default_factory=list)
    open_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    values: int = 0
    training: dict[str, str] = field(default_factory=dict)


async def one_student(url: str, seed: int, duration: float, think: tuple[float, float], phase: Phase) -> None:
    rng = random.Random(seed)
    pairs = everyday_pairs()
    await asyncio.sleep(rng.uniform(0, 5))
    student = Student(url)
    try:
        start = time.perf_counter()
        await student.open()
        phase.open_ms.append((time.perf_counter() - start) * 1000)
        end = time.monotonic() + duration
        step = 1
        while time.monotonic() + think[0] < end:
            await asyncio.sleep(rng.uniform(*think))
            seconds, seen = await student.edit(next_edit(rng, step, pairs))
            phase.latencies_ms.append(seconds * 1000)
            phase.values += seen.metric is not None
            step += 1
    except Exception as err:  # a failed student is the measurement, not a crash of the bench
        phase.errors.append(f"{err.__class__.__name__}: {err}"[:200])
    finally:
        await student.close()


async def one_trainer(url: str, duration: float, phase: Phase) -> None:
    """The student who presses Start in the Train tab (default preset) at the phase's start and keeps the
    page open until the run ends; not counted among the students' edits."""
    student = Student(url)
    try:
        await student.open()
        await student.press("Start")
        phase.training["end"] = await student.follow_run(limit=duration + 120)
        phase.training.update(student.metrics)
    except Exception as err:
        phase.training["error"] = f"{err.__class__.__name__}: {err}"[:200]
    finally:
        await student.close()


class ServerProbe:
    """RSS (sum over the processes, MB) sampled every 0.5 s, and CPU seconds read from /proc."""

    def __init__(self, pids: list[int]):
        self.pids = pids
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def rss_mb(self) -> float:
        total = 0
        for pid in self.pids:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        return total / 1024

    def cpu_seconds(self) -> float:
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in self.pids:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / ticks

    def __enter__(self) -> ServerProbe:
        self.peak_mb = self.rss_mb()

        def sample() -> None:
            while not self._stop.wait(0.5):
                self.peak_mb = max(self.peak_mb, self.rss_mb())

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()


def pct(xs: list[float], q: int) -> float | None:
    if not xs:
        return None
    if len(xs) == 1:
        return round(xs[0], 1)
    return round(statistics.quantiles(xs, n=100, method="inclusive")[q - 1], 1)


def run_phase(url: str, pids: list[int], n: int, duration: float, think: tuple[float, float], train: bool) -> dict:
    phase = Phase()

    async def all_students() -> None:
        trainer = [one_trainer(url, duration, phase)] if train else []
        await asyncio.gather(*trainer, *(one_student(url, 1000 * n + i, duration, think, phase) for i in range(n)))

    with ServerProbe(pids) as probe:
        cpu0, wall0 = probe.cpu_seconds(), time.perf_counter()
        asyncio.run(all_students())
        cpu, wall = probe.cpu_seconds() - cpu0, time.perf_counter() - wall0
    ms = phase.latencies_ms
    return {
        "students": n,
        "edits": len(ms),
        "median_ms": pct(ms, 50),
        "p95_ms": pct(ms, 95),
        "max_ms": round(max(ms), 1) if ms else None,
        "page_open_median_ms": pct(phase.open_ms, 50),
        "errors": len(phase.errors),
        "error_samples": phase.errors[:3],
        "every_edit_got_its_value": phase.values == len(ms),
        "server_rss_peak_mb": round(probe.peak_mb, 1),
        "server_cpu_cores": round(cpu / wall, 2),
        "seconds": round(wall, 1),
        **({"training_run": phase.training} if train else {}),
    }


def rss_after_sessions_expire(probe: ServerProbe, wait: float) -> float:
    """Streamlit drops a disconnected session after server.disconnectedSessionTTL; wait, then read RSS."""
    time.sleep(wait)
    return round(probe.rss_mb(), 1)


def measure(label: str, url: str, pids: list[int], counts: list[int], args) -> dict:
    probe = ServerProbe(pids)

    async def warm_up() -> None:  # every process behind a proxy loads its model and draws the page once
        await asyncio.gather(*(one_student(url, -i, 0, (0, 0), Phase()) for i in range(1 + 3 * (len(pids) - 1))))

    asyncio.run(warm_up())
    baseline = rss_after_sessions_expire(probe, args.settle)
    phases = []
    for n in counts:
        phases.append(run_phase(url, pids, n, args.duration, (args.think_min, args.think_max), args.train))
        phases[-1]["server_rss_after_mb"] = rss_after_sessions_expire(probe, args.settle)
        print(label, json.dumps(phases[-1]))
    return {"label": label, "server_rss_baseline_mb": baseline, "phases": phases}


def run_local(label: str, app_dir: Path, counts: list[int], args) -> dict:
    extra = ("--server.disconnectedSessionTTL", str(SESSION_TTL_S))
    # As ./serve_classroom.sh runs it (a checkout that predates the setting ignores it).
    os.environ.setdefault("NSP_EXPLORER_TORCH_THREADS", "1")
    app = harness.start_app(extra_args=extra, app_dir=app_dir)
    try:
        return measure(label, app.url, [app.proc.pid], counts, args)
    finally:
        app.stop()


def machine_note() -> str:
    return (
        f"{os.cpu_count()} cores, CPU only; server and clients on the same machine, shared with other "
        f"work (1-min load average at start {os.getloadavg()[0]:.1f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", default="1,10,30,60", help="comma-separated numbers of students")
    parser.add_argument("--duration", type=float, default=60, help="seconds of editing per phase")
    parser.add_argument("--think-min", type=float, default=5)
    parser.add_argument("--think-max", type=float, default=10)
    parser.add_argument("--settle", type=float, default=SESSION_TTL_S + 8, help="seconds to wait after a phase")
    parser.add_argument("--baseline-dir", type=Path, help="another checkout of the app, measured side by side")
    parser.add_argument("--url", help="drive this running server instead of starting one")
    parser.add_argument("--pids", default="", help="with --url: the server processes to watch")
    parser.add_argument("--train", action="store_true", help="one more student runs the Train tab's default preset")
    parser.add_argument("--label", default="this checkout")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    counts = [int(n) for n in args.students.split(",")]
    runs = []
    if args.url:
        runs.append(measure(args.label, args.url, [int(p) for p in args.pids.split(",") if p], counts, args))
    else:
        for n in counts:  # interleaved per N, so both apps see the same minutes of a busy machine
            if args.baseline_dir:
                runs.append(run_local("baseline", args.baseline_dir, [n], args))
            runs.append(run_local(args.label, harness.APP_DIR, [n], args))
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_note(),
        "method": "websocket client speaking Streamlit's protocol; edit -> new p(IsNext) on the client clock; "
        f"think time {args.think_min}-{args.think_max} s, {args.duration:.0f} s per phase"
        + ("; one more student starts the Train tab's default preset at each phase's start" if args.train else ""),
        "target": f"30 students: p95 <= {TARGET_P95_MS} ms, 0 errors; 60 students: 0 errors",
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
