"""Interaction latency in a real browser: commit an edit of Sentence B -> new p(IsNext) shown.

Method: each of N rounds types a different Sentence B and presses Ctrl+Enter. Timing is taken
on the browser's clock (performance.now), from the Ctrl+Enter keydown to the mutation that puts
the new p(IsNext) text into the DOM; if a new sentence happens to give the same 4-digit value,
the end of the rerun (stApp's script state back to "notRunning") is used instead.
One unmeasured warm-up edit comes first. Run: .venv/bin/python bench/bench_browser.py

Where the time goes (--frames): over Chrome DevTools the bench also reads the websocket frames of each edit and
reports when the page took the frame that carries the new p(IsNext) metric, counted from the edit's
own frame to the server (DevTools stamps a received frame when the page's main thread handles it, so
this includes any wait for that thread), and how many frames and bytes one edit brings. Reading the
frames costs the browser some work of its own, so the plain run (no --frames) is the latency of record.

A student's browser runs on the student's machine, not beside the server. --split-cores gives the server
one core and the browser (and this script) the other, so that the two stop taking turns on the same cores
(Linux only; results in browser_latency_split.json).
"""

import base64
import json
import platform
import statistics
import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root: harness/

from playwright.sync_api import sync_playwright

from harness import app_server as harness

N = 15
TARGET_MEDIAN_MS = 300
RESULTS = Path(__file__).resolve().parent / "results" / "browser_latency.json"
SENTENCES = [
    "It was very comfortable.",
    "The stock market closed higher on Friday.",
    "She poured the milk into a saucer.",
    "Penguins cannot fly, but they swim well.",
    "The committee will meet again next spring.",
    "He forgot his umbrella at the station.",
    "Then the dog fell asleep in the sun.",
    "Prices of wheat rose sharply that year.",
    "Nobody answered the phone.",
    "The treaty was signed in Paris.",
    "A cold wind blew from the north.",
    "Congress passed the bill after a long debate.",
    "The kitten chased a ball of yarn.",
    "Our schools need more teachers.",
    "The river flooded the lower town.",
    "It purred and went to sleep.",
]


def percentile(xs, q):
    return statistics.quantiles(xs, n=100, method="inclusive")[q - 1]


def machine_note() -> str:
    import os

    # Other work on a 2-core machine moves these numbers a lot, so the load goes on record.
    return (
        f"{platform.machine()} {os.cpu_count()} cores, {platform.system()}, CPU only; "
        f"headless /usr/bin/chromium via Playwright; app and browser on the same machine; "
        f"1-min load average at start {os.getloadavg()[0]:.1f}"
    )


def _payload(event: dict) -> bytes:
    data = event["response"]["payloadData"]
    return base64.b64decode(data) if event["response"].get("opcode") == 2 else data.encode()  # 2 = binary


def _frame_split(frames: list[tuple[str, float, bytes]]) -> dict:
    """The edit's frames: ms from its frame to the server to the page taking the metric's frame; counts."""
    sent = [t for kind, t, _ in frames if kind == "sent"]
    received = [(t, data) for kind, t, data in frames if kind == "received"]
    metric = [t for t, data in received if harness.METRIC_LABEL.encode() in data]
    return {
        "metric_frame_ms": (metric[0] - sent[0]) * 1000 if sent and metric else None,
        "frames": len(received),
        "bytes": sum(len(data) for _, data in received),
    }


def _median_or_none(values: list) -> float | None:
    known = [v for v in values if v is not None]
    return round(statistics.median(known), 1) if known else None


def split_cores(server_pid: int) -> None:
    """The server (every thread of it) on core 0; this process, and the browser it starts, on core 1."""
    import os
    import subprocess

    subprocess.run(["taskset", "-a", "-p", "-c", "0", str(server_pid)], check=True, capture_output=True)
    os.sched_setaffinity(0, {1})


def main() -> None:
    with_frames = "--frames" in sys.argv[1:]
    split = "--split-cores" in sys.argv[1:]
    app = harness.start_app()
    if split:
        split_cores(app.proc.pid)
    frames: list[tuple[str, float, bytes]] = []
    try:
        with sync_playwright() as pw:
            browser = harness.launch_chromium(pw)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            if with_frames:
                devtools = page.context.new_cdp_session(page)
                devtools.send("Network.enable")
                devtools.on("Network.webSocketFrameSent", lambda e: frames.append(("sent", e["timestamp"], b"")))
                devtools.on(
                    "Network.webSocketFrameReceived",
                    lambda e: frames.append(("received", e["timestamp"], _payload(e))),
                )
            harness.open_explorer(page, app.url)
            harness.commit_text(page, "Sentence B", SENTENCES[-1])  # warm-up
            runs = []
            for i in range(N):
                frames.clear()
                run = harness.commit_text(page, "Sentence B", SENTENCES[i % (len(SENTENCES) - 1)])
                if with_frames:
                    page.wait_for_timeout(200)  # the last frames' DevTools events
                    run.update(_frame_split(frames))
                runs.append(run)
            browser.close()
    finally:
        app.stop()

    ms = [r["to_value"] for r in runs]
    result = {
        "median_ms": round(statistics.median(ms), 1),
        "p90_ms": round(percentile(ms, 90), 1),
        "n": N,
        "value_changed": sum(r["changed"] for r in runs),
        "median_run_finished_ms": round(statistics.median(r["to_finished"] for r in runs), 1),
        "samples_ms": [round(x, 1) for x in ms],
        "target_median_ms": TARGET_MEDIAN_MS,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_note(),
        "method": "browser clock, Ctrl+Enter keydown -> p(IsNext) text mutated in DOM; metric_frame_ms: DevTools "
        "clock, the edit's websocket frame to the server -> the page's main thread takes the frame with the metric",
    }
    if with_frames:
        result["median_metric_frame_ms"] = _median_or_none([r["metric_frame_ms"] for r in runs])
        result["frames_per_edit"] = statistics.median(r["frames"] for r in runs)
        result["bytes_per_edit"] = statistics.median(r["bytes"] for r in runs)
    out = RESULTS
    if with_frames:
        out = RESULTS.with_name("browser_latency_frames.json")
    elif split:
        out = RESULTS.with_name("browser_latency_split.json")
    if split:
        result["machine"] += "; server pinned to core 0, browser and bench to core 1 (--split-cores)"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    verdict = "OK" if result["median_ms"] <= TARGET_MEDIAN_MS else "OVER TARGET"
    print(
        f"edit B -> p(IsNext) shown: median {result['median_ms']} ms, p90 {result['p90_ms']} ms "
        f"(n={N}, value changed {result['value_changed']}/{N}); metric frame taken by the page at "
        f"{result.get('median_metric_frame_ms', '(run with --frames)')} ms; target median <= "
        f"{TARGET_MEDIAN_MS} ms: {verdict}"
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
