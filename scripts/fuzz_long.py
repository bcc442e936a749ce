"""The long fuzzing run: every property test in tests/test_fuzz_*.py with ten times the suite's examples.

    .venv/bin/python scripts/fuzz_long.py [extra pytest options]

The suite runs the small, derandomised "nsp-ci" Hypothesis profile (tests/fuzz_settings.py); this script
selects "nsp-long" (10x the examples, fresh random inputs each run), forces the hub offline like test.sh,
and appends one line per run to bench/results/fuzz_long.jsonl: when, how long, the pytest exit code and
the failing tests. A failure prints the shrunk input Hypothesis found: fix the parser, then keep that
input as an @example or a parametrized case (bench/results/fuzzing.md lists the ones found so far).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "fuzz_long.jsonl"
PROPERTY_TESTS = ["test_fuzz_eval_file.py", "test_fuzz_corpus.py", "test_fuzz_encoding.py"]
PROPERTY_TESTS += ["test_fuzz_train_config.py", "test_fuzz_cli.py"]


def main(extra: list[str]) -> int:
    env = {**os.environ, "NSP_FUZZ_PROFILE": "nsp-long", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra]
    command += [str(ROOT / "tests" / name) for name in PROPERTY_TESTS]
    start = time.perf_counter()
    proc = subprocess.run(command, check=False, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    sys.stdout.write(proc.stdout[-20_000:])
    sys.stderr.write(proc.stderr[-5_000:])
    summary = (proc.stdout.strip().splitlines() or [""])[-1]
    record = {
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "profile": "nsp-long",
        "pytest_args": extra,
        "seconds": round(seconds, 1),
        "exit_code": proc.returncode,
        "summary": summary.strip("= "),
        "failed": sorted(set(re.findall(r"^FAILED (\S+)", proc.stdout, flags=re.MULTILINE))),
        "cpu_count": os.cpu_count(),
        "note": "machine shared with other jobs; the time is indicative only",
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with open(RESULTS, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")
    print(json.dumps(record))
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
