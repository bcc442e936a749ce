"""Cold start: launching `streamlit run app.py` -> (a) health OK, (b) p(IsNext) shown in Chromium.

Chromium is started before the clock runs, so only the app's own start-up is measured: Python
imports, model load and the first script run. Each of the 3 runs uses a new streamlit process and
a new browser page. Run: .venv/bin/python bench/bench_coldstart.py
"""

import json
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root: harness/

from bench_browser import machine_note
from playwright.sync_api import sync_playwright

from harness import app_server as harness

RUNS = 3
TARGET_S = 10.0
RESULTS = Path(__file__).resolve().parent / "results" / "coldstart.json"


def one_run(browser) -> tuple[float, float]:
    t0 = time.perf_counter()
    app = harness.launch_app()
    try:
        harness.wait_healthy(app)
        healthy = time.perf_counter() - t0
        page = browser.new_page()
        harness.open_explorer(page, app.url)
        shown = time.perf_counter() - t0
        page.close()
    finally:
        app.stop()
    return healthy, shown


def main() -> None:
    with sync_playwright() as pw:
        browser = harness.launch_chromium(pw)
        runs = [one_run(browser) for _ in range(RUNS)]
        browser.close()

    result = {
        "health_ok_median_s": round(statistics.median(h for h, _ in runs), 2),
        "metric_visible_median_s": round(statistics.median(s for _, s in runs), 2),
        "runs": [{"health_ok_s": round(h, 2), "metric_visible_s": round(s, 2)} for h, s in runs],
        "n": RUNS,
        "target_s": TARGET_S,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_note() + "; OS file cache warm after the first run",
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    verdict = "OK" if result["metric_visible_median_s"] <= TARGET_S else "OVER TARGET"
    print(
        f"cold start: health OK {result['health_ok_median_s']} s, p(IsNext) visible "
        f"{result['metric_visible_median_s']} s (median of {RUNS}); target <= {TARGET_S} s: {verdict}"
    )
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
