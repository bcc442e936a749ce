"""Start the real app and drive it in headless Chromium.

Shared by the browser tests (tests/browser/conftest.py) and the browser benchmarks, so that
both measure the same app the same way.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Override only to try the harness against another app that follows the same UI contract.
APP_DIR = Path(os.environ.get("NSP_APP_DIR", ROOT))
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",  # we run as root in CI
    "--disable-gpu",
    "--disable-dev-shm-usage",  # /dev/shm is small in containers
    "--disable-background-networking",  # the machine has no internet; don't even try
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
METRIC_LABEL = "p(IsNext)"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class AppServer:
    proc: subprocess.Popen
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, n: int = 40) -> str:
        lines = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(lines[-n:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def launch_app(port: int | None = None, extra_args: tuple[str, ...] = (), app_dir: Path | None = None) -> AppServer:
    """Start `streamlit run app.py` without waiting for it (`extra_args`: more `streamlit run` options)."""
    port = port or free_port()
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_HUB_DISABLE_TELEMETRY="1")
    # A file rather than a pipe: nobody reads the log while tests run and a full pipe blocks the app.
    log = tempfile.NamedTemporaryFile("w", prefix="streamlit-", suffix=".log", delete=False)  # noqa: SIM115 (the app writes it until stop)
    streamlit = Path(sys.executable).parent / "streamlit"
    proc = subprocess.Popen(
        [str(streamlit), "run", "app.py", "--server.port", str(port), "--server.headless", "true", *extra_args],
        cwd=app_dir or APP_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    return AppServer(proc, port, Path(log.name))


def wait_healthy(app: AppServer, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if app.proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {app.proc.returncode}:\n{app.log_tail()}")
        try:
            with urllib.request.urlopen(f"{app.url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    app.stop()
    raise TimeoutError(f"streamlit not healthy after {timeout:.0f} s:\n{app.log_tail()}")


def start_app(timeout: float = 60, extra_args: tuple[str, ...] = (), app_dir: Path | None = None) -> AppServer:
    app = launch_app(extra_args=extra_args, app_dir=app_dir)
    wait_healthy(app, timeout)
    return app


def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


# Runs in the page before Streamlit's own code. Streamlit writes its run state into
# stApp[data-test-script-state]; counting the runs that finished tells a finished rerun apart
# from "the rerun has not started yet", which a plain check of "notRunning" cannot. A run is
# counted from each record's old value: React may set "running" and "notRunning" in one task,
# and by the time the observer sees the two records the attribute already reads "notRunning".
# The metric's text changes are timestamped too, so latency is measured on the browser's clock
# from the Ctrl+Enter keydown to the moment the new number is in the DOM.
_PROBE_JS = """
(() => {
  const probe = window.__nsp = {runs: 0, finishedAt: 0, committedAt: 0, metric: null, metricAt: 0};
  const metricText = () => {
    for (const m of document.querySelectorAll('[data-testid="stMetric"]')) {
      if (m.querySelector('[data-testid="stMetricLabel"]')?.textContent.includes(%r))
        return m.querySelector('[data-testid="stMetricValue"]')?.textContent.trim() ?? null;
    }
    return null;
  };
  probe.metricText = metricText;
  new MutationObserver(records => {
    const now = performance.now();
    for (const r of records) {
      if (r.attributeName !== 'data-test-script-state' || r.oldValue !== 'running') continue;
      probe.runs += 1;
      probe.finishedAt = now;
    }
    const text = metricText();
    if (text !== probe.metric) { probe.metric = text; probe.metricAt = now; performance.mark('nsp-metric'); }
  }).observe(document, {subtree: true, childList: true, characterData: true, attributes: true,
                        attributeOldValue: true, attributeFilter: ['data-test-script-state']});
  document.addEventListener('keydown', e => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      probe.committedAt = performance.now();
      performance.mark('nsp-commit');  // for a trace of the edit (bench_browser.py --trace)
    }
  }, true);
})();
""".replace("%r", repr(METRIC_LABEL))  # not a format string: the JavaScript is full of braces

_IDLE_JS = """
runs => window.__nsp && window.__nsp.runs > runs
  && document.querySelector('[data-testid="stApp"]')?.getAttribute('data-test-script-state') === 'notRunning'
  && window.__nsp.metric !== null
"""


def open_explorer(page, url: str, timeout_ms: float = 60_000) -> None:
    """Load the app and wait until its first run has drawn the p(IsNext) metric."""
    page.add_init_script(_PROBE_JS)
    page.goto(url)
    wait_idle(page, 0, timeout_ms)


def wait_idle(page, runs: int, timeout_ms: float) -> None:
    """Wait until more than `runs` script runs have finished and none is running."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(_IDLE_JS, arg=runs, timeout=timeout_ms, polling="raf")
    except PlaywrightTimeout as e:
        state = page.evaluate("""() => ({
            runs: window.__nsp?.runs, metric: window.__nsp?.metric,
            state: document.querySelector('[data-testid="stApp"]')?.getAttribute('data-test-script-state'),
            exceptions: document.querySelectorAll('[data-testid="stException"]').length})""")
        raise TimeoutError(
            f"no finished rerun after {timeout_ms / 1000:.0f} s (runs before: {runs}, page now: {state})"
        ) from e


def metric_value(page) -> str:
    return page.evaluate("window.__nsp.metricText()")


def commit_text(page, label: str, text: str, timeout_ms: float = 30_000) -> dict:
    """Type `text` into the text area `label`, commit with Ctrl+Enter, wait for the rerun to end.

    Returns the browser-clock timings of that rerun (ms): `to_value` is keydown -> new metric
    text in the DOM, or keydown -> run finished when the number happened not to change.
    """
    runs = page.evaluate("window.__nsp.runs")
    box = page.get_by_label(label, exact=True)
    box.fill(text)
    box.press("Control+Enter")
    wait_idle(page, runs, timeout_ms)
    t = page.evaluate(
        "(({metric, metricAt, committedAt, finishedAt}) => ({metric, metricAt, committedAt, finishedAt}))(window.__nsp)"
    )
    changed = t["metricAt"] > t["committedAt"]
    return {
        "value": t["metric"],
        "changed": changed,
        "to_value": (t["metricAt"] if changed else t["finishedAt"]) - t["committedAt"],
        "to_finished": t["finishedAt"] - t["committedAt"],
    }
