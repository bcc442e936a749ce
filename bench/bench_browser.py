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

Where the browser's own time goes (--trace): a Chrome trace of TRACE_EDITS edits, summarised per edit from the
Ctrl+Enter keydown to the new p(IsNext) in the DOM: how long the page's main thread was busy, how much of that
was React rendering Streamlit's element tree, and each task of at least LONG_TASK_MS (results in
browser_trace.json; tracing slows the page, so the plain run stays the latency of record).

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


TRACE_EDITS = 3
LONG_TASK_MS = 5.0
TRACE_CATEGORIES = ["devtools.timeline", "blink.user_timing", "toplevel", "v8.execute"]


def _main_thread(events: list[dict]) -> tuple[int, int]:
    """(pid, tid) of the renderer main thread that holds the probe's marks."""
    marked = {(e["pid"], e["tid"]) for e in events if e.get("name") == "nsp-commit"}
    names = {(e["pid"], e["tid"]): e["args"]["name"] for e in events if e.get("name") == "thread_name"}
    return next(key for key in marked if names.get(key) == "CrRendererMain")


def trace_summary(events: list[dict]) -> list[dict]:
    """Per edit: keydown -> new metric on the trace clock, and the page main thread's tasks in between."""
    main = _main_thread(events)
    on_main = [e for e in events if (e["pid"], e["tid"]) == main]
    commits = sorted(e["ts"] for e in on_main if e.get("name") == "nsp-commit")
    metrics = sorted(e["ts"] for e in on_main if e.get("name") == "nsp-metric")
    tasks = [e for e in on_main if e.get("name") == "ThreadControllerImpl::RunTask" and e.get("ph") == "X"]
    react_calls = [
        e for e in on_main if e.get("name") == "FunctionCall" and "react-dom" in str(e.get("args", {}).get("data", {}))
    ]
    edits = []
    for start in commits:
        end = next((t for t in metrics if t > start), None)
        if end is None:
            continue
        rows = []
        for task in tasks:
            lo, hi = max(task["ts"], start), min(task["ts"] + task["dur"], end)
            if hi <= lo:
                continue
            react = any(task["ts"] <= c["ts"] < task["ts"] + task["dur"] for c in react_calls)
            rows.append({"at_ms": (lo - start) / 1000, "ms": (hi - lo) / 1000, "react": react})
        long = [r for r in rows if r["ms"] >= LONG_TASK_MS]
        edits.append(
            {
                "to_value_ms": round((end - start) / 1000, 1),
                "main_thread_busy_ms": round(sum(r["ms"] for r in rows), 1),
                "react_render_ms": round(sum(r["ms"] for r in rows if r["react"]), 1),
                "react_renders": sum(1 for r in long if r["react"]),
                "long_tasks": [{k: round(v, 1) if isinstance(v, float) else v for k, v in r.items()} for r in long],
            }
        )
    return edits


def trace(page, browser) -> dict:
    """Trace TRACE_EDITS edits and summarise them (the tracing itself slows the page down)."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "trace.json"
        browser.start_tracing(page=page, categories=TRACE_CATEGORIES, path=str(path))
        for i in range(TRACE_EDITS):
            harness.commit_text(page, "Sentence B", SENTENCES[i])
        browser.stop_tracing()
        data = json.loads(path.read_text())
    edits = trace_summary(data["traceEvents"] if isinstance(data, dict) else data)
    return {
        "edits": edits,
        "median_to_value_ms": _median_or_none([e["to_value_ms"] for e in edits]),
        "median_react_render_ms": _median_or_none([e["react_render_ms"] for e in edits]),
        "median_main_thread_busy_ms": _median_or_none([e["main_thread_busy_ms"] for e in edits]),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_note(),
        "method": "Chrome trace (Playwright start_tracing); window = probe marks nsp-commit (Ctrl+Enter keydown) -> "
        "nsp-metric (new p(IsNext) text in the DOM); tasks = the renderer main thread's "
        f"ThreadControllerImpl::RunTask events clipped to the window; react = the task ran a react-dom function; "
        f"long tasks >= {LONG_TASK_MS} ms",
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
    if "--trace" in sys.argv[1:]:
        return main_trace()
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


def main_trace() -> None:
    app = harness.start_app()
    try:
        with sync_playwright() as pw:
            browser = harness.launch_chromium(pw)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            harness.open_explorer(page, app.url)
            harness.commit_text(page, "Sentence B", SENTENCES[-1])  # warm-up
            result = trace(page, browser)
            browser.close()
    finally:
        app.stop()
    out = RESULTS.with_name("browser_trace.json")
    out.write_text(json.dumps(result, indent=2) + "\n")
    for edit in result["edits"]:
        print(
            f"keydown -> value {edit['to_value_ms']} ms: main thread busy {edit['main_thread_busy_ms']} ms, "
            f"React {edit['react_render_ms']} ms in {edit['react_renders']} renders"
        )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
