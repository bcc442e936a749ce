#!/usr/bin/env bash
# Serve a classroom from N app processes behind nginx with sticky sessions:
#   ./serve_classroom.sh [N] [PORT]      (N: processes, default = CPU cores; PORT: default 8501)
# Students open http://THIS-MACHINE:PORT. Each process serves its own share of the browsers; nginx
# pins a browser to one process with a cookie (a Streamlit session lives in one process). Needs
# nginx: installed from Debian/Ubuntu packages when run as root, else asked for. Ctrl+C stops all.
set -euo pipefail
cd "$(dirname "$0")"
source ./run.sh  # ensure_venv, without starting the app

PROCESSES=${1:-$(nproc)}
PORT=${2:-8501}
RUN_DIR=${NSP_CLASSROOM_DIR:-$PWD/.classroom}

if ! command -v nginx >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get install -y nginx >/dev/null || { apt-get update >/dev/null && apt-get install -y nginx >/dev/null; }
    else
        echo "serve_classroom.sh needs nginx: sudo apt-get install nginx (or your system's package)" >&2
        exit 2
    fi
fi
ensure_venv requirements.txt
mkdir -p "$RUN_DIR/logs"

# One torch thread per process: the processes already use every core, and torch's own threads
# fighting them for the same cores made a forward pass several times slower in our measurements.
export NSP_EXPLORER_TORCH_THREADS=${NSP_EXPLORER_TORCH_THREADS:-1}
export HF_HUB_DISABLE_TELEMETRY=1
# One cookie secret for all processes, so that a cookie one signed is valid in the others.
STREAMLIT_SERVER_COOKIE_SECRET=$(.venv/bin/python -c "import secrets; print(secrets.token_hex(32))")
export STREAMLIT_SERVER_COOKIE_SECRET

PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT
trap 'exit 130' INT TERM  # exit runs the EXIT trap: every process started here is stopped

SERVERS=""
for i in $(seq 1 "$PROCESSES"); do
    port=$((PORT + i))
    .venv/bin/streamlit run app.py --server.address 127.0.0.1 --server.port "$port" --server.headless true \
        "${@:3}" >"$RUN_DIR/logs/app-$i.log" 2>&1 &
    PIDS+=($!)
    SERVERS+="        server 127.0.0.1:$port;"$'\n'
done
echo "${PIDS[@]}" >"$RUN_DIR/app.pids"

USER_LINE=""
[ "$(id -u)" = 0 ] && USER_LINE="user root;"
cat >"$RUN_DIR/nginx.conf" <<CONF
# Written by serve_classroom.sh; rewritten at each start.
$USER_LINE
worker_processes 1;
daemon off;
pid $RUN_DIR/nginx.pid;
error_log $RUN_DIR/logs/nginx-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $RUN_DIR/tmp;
    proxy_temp_path $RUN_DIR/tmp;
    client_max_body_size 200m;  # Streamlit's own upload limit is 200 MB
    # Sticky sessions: a browser without the cookie gets one (a random id) with its first response,
    # and every request is routed by that id, so the page's websocket, its uploads and its media all
    # reach the process that holds its session.
    map \$cookie_nsp_route \$route_key { "" \$request_id; default \$cookie_nsp_route; }
    map \$cookie_nsp_route \$set_route { "" "nsp_route=\$request_id; Path=/; HttpOnly; SameSite=Lax"; default ""; }
    map \$http_upgrade \$connection_upgrade { default upgrade; "" close; }
    upstream nsp_explorer {
        hash \$route_key consistent;
$SERVERS    }
    server {
        listen $PORT;
        location / {
            proxy_pass http://nsp_explorer;
            proxy_http_version 1.1;
            proxy_set_header Host \$http_host;
            proxy_set_header Upgrade \$http_upgrade;
            proxy_set_header Connection \$connection_upgrade;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_read_timeout 1d;  # a student's websocket stays open all lesson
            proxy_buffering off;
            add_header Set-Cookie \$set_route;
        }
    }
}
CONF
mkdir -p "$RUN_DIR/tmp"
for i in $(seq 1 "$PROCESSES"); do
    until curl -sf "http://127.0.0.1:$((PORT + i))/_stcore/health" >/dev/null; do
        kill -0 "${PIDS[$((i - 1))]}" 2>/dev/null || { echo "app process $i failed: $RUN_DIR/logs/app-$i.log" >&2; exit 1; }
        sleep 0.5
    done
done
echo "NSP Explorer for a classroom: $PROCESSES processes behind nginx at http://$(hostname):$PORT"
nginx -c "$RUN_DIR/nginx.conf" -p "$RUN_DIR" &
PIDS+=($!)
wait
