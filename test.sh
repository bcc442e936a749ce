#!/usr/bin/env bash
# Run the test suite: ./test.sh [pytest options], e.g. ./test.sh -m browser
set -euo pipefail
cd "$(dirname "$0")"
source ./run.sh  # for ensure_venv; sourcing does not start the app

ensure_venv requirements-dev.txt

# Browser tests drive Debian's chromium: Playwright cannot download its own browser here.
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
fi

# What a reviewer would say by hand, said by the tools (configured in pyproject.toml); CI runs this script.
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy

# Tests must never touch the network.
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1
exec .venv/bin/python -m pytest "$@"
