#!/usr/bin/env bash
# Start NSP Explorer: ./run.sh [streamlit options]
set -euo pipefail
cd "$(dirname "$0")"

# Reinstall only when the requirements file changed, so a set-up machine starts at once.
ensure_venv() {
    local req=$1 stamp=".venv/.${1}.sha256"
    [ -x .venv/bin/python ] || python3 -m venv .venv
    local want
    want=$(sha256sum "$req" requirements.txt | sha256sum | cut -d' ' -f1)
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        .venv/bin/python -m pip install -q -r "$req"
        echo "$want" > "$stamp"
    fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    ensure_venv requirements.txt
    export HF_HUB_DISABLE_TELEMETRY=1
    exec .venv/bin/streamlit run app.py "$@"
fi
