"""Server time of one Explorer edit against the model's forward pass on the same pair.

One student (harness/classroom_client.py, Streamlit's own protocol) commits N edits, each a pair
the page has not seen (so its cache cannot answer). For each edit: the rerun's time, from sending
the edit to the server's script_finished (the server's whole work for the edit, plus a loopback
round trip), and the forward pass the page itself reports for that pair (its "forward pass"
metric, timed around the model call). With --baseline-dir, that checkout's app runs beside this
one and the edits alternate between the two, so both see the same moments of a busy machine.

    .venv/bin/python bench/bench_rerun.py --baseline-dir /path/to/main/checkout

Target: median rerun <= 5x the median forward pass. Results: bench/results/rerun.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root: harness/
from load_classroom import everyday_pairs, pct

from harness import app_server as harness
from harness.classroom_client import FORWARD_LABEL, ProtocolError, Student

RESULTS = Path(__file__).resolve().parent / "results" / "rerun.json"
TARGET_RATIO = 5.0


def unique_edits(n: int, seed: int = 7) -> list[dict[str, str]]:
    """n pairs no run has scored before: A from the everyday pairs, B two of their sentences joined."""
    rng = random.Random(seed)
    pairs = everyday_pairs()
    sentences = [s for pair in pairs for s in pair]
    edits: list[dict[str, str]] = []
    seen: set[tuple[str, str]] = set()
    while len(edits) < n:
        a, b = rng.choice(pairs)[0], f"{rng.choice(sentences)} {rng.choice(sentences)}"
        if (a, b) not in seen:
            seen.add((a, b))
            edits.append({"Sentence A": a, "Sentence B": b})
    return edits


async def measure(urls: dict[str, str], edits: list[dict[str, str]]) -> dict[str, dict]:
    students = {label: Student(url) for label, url in urls.items()}
    samples: dict[str, list[tuple[float, float]]] = {label: [] for label in urls}
    for student in students.values():
        await student.open()
        await student.edit({"Sentence B": "A first edit, not measured."})
    for texts in edits:
        for label, student in students.items():
            _, finished, seen = await student.timed_edit(texts)
            if seen.forward_ms is None:
                raise ProtocolError(f"the rerun ended without a {FORWARD_LABEL} value")
            samples[label].append((finished * 1000, seen.forward_ms))
    for student in students.values():
        await student.close()
    return {label: summary(xs) for label, xs in samples.items()}


def summary(samples: list[tuple[float, float]]) -> dict:
    rerun = [r for r, _ in samples]
    forward = [f for _, f in samples]
    ratios = [r / f for r, f in samples]
    return {
        "rerun_median_ms": pct(rerun, 50),
        "rerun_p95_ms": pct(rerun, 95),
        "forward_median_ms": pct(forward, 50),
        "forward_p95_ms": pct(forward, 95),
        "ratio_of_medians": round(statistics.median(rerun) / statistics.median(forward), 2),
        "ratio_median": round(statistics.median(ratios), 2),
        "ratio_p95": pct(ratios, 95),
        "n": len(samples),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--edits", type=int, default=40)
    parser.add_argument("--baseline-dir", type=Path)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    dirs = {"this checkout": harness.APP_DIR}
    if args.baseline_dir:
        dirs["baseline"] = args.baseline_dir
    apps = {label: harness.start_app(app_dir=d) for label, d in dirs.items()}
    try:
        result = asyncio.run(measure({label: app.url for label, app in apps.items()}, unique_edits(args.edits)))
    finally:
        for app in apps.values():
            app.stop()
    out = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} cores, CPU only, shared with other work "
        f"(1-min load average at end {os.getloadavg()[0]:.1f})",
        "method": "edit sent -> script_finished received, one websocket client, loopback; forward pass as the "
        "page reports it for the same pair; edits alternate between the apps",
        "target_ratio": TARGET_RATIO,
        **result,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    for label, r in result.items():
        verdict = "OK" if r["ratio_of_medians"] <= TARGET_RATIO else "OVER TARGET"
        print(
            f"{label}: edit rerun median {r['rerun_median_ms']} ms (p95 {r['rerun_p95_ms']}), forward pass median "
            f"{r['forward_median_ms']} ms: ratio {r['ratio_of_medians']} ({verdict}, target <= {TARGET_RATIO})"
        )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
