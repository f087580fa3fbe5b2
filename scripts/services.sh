#!/usr/bin/env bash
# Starts and stops the local servers that scale-out features, tests and benchmarks use, on
# 127.0.0.1 only, with data in a temporary folder. Installs them from Debian packages when
# missing. State (ports, pids, folders) lives in $ATALAYA_SERVICES (default /tmp/atalaya-services).
#
#   scripts/services.sh start clickhouse   # prints CLICKHOUSE_HTTP=http://127.0.0.1:PORT
#   scripts/services.sh stop clickhouse
#   scripts/services.sh status
set -euo pipefail

STATE=${ATALAYA_SERVICES:-/tmp/atalaya-services}
mkdir -p "$STATE"

usage() {
  sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

apt_install() {
  if ! apt-get install -y -qq "$@" >/dev/null 2>&1; then
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  fi
}

clickhouse_start() {
  local dir="$STATE/clickhouse"
  # One start at a time (parallel test classes ask together; a second server on the same folder
  # fails and its start wipes the first one's state). The server itself must not hold the lock.
  exec 9>"$STATE/clickhouse.lock"
  flock 9
  if [[ -f "$dir/pid" ]] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
    cat "$dir/env"
    return
  fi
  command -v clickhouse-server >/dev/null 2>&1 || apt_install clickhouse-server clickhouse-client
  rm -rf "$dir" && mkdir -p "$dir/data" "$dir/tmp" "$dir/uf" "$dir/fs"
  local http tcp inter
  http=$(free_port); tcp=$(free_port); inter=$(free_port)
  clickhouse-server --config-file=/etc/clickhouse-server/config.xml -- \
    --path="$dir/data/" --tmp_path="$dir/tmp/" --user_files_path="$dir/uf/" --format_schema_path="$dir/fs/" \
    --logger.log="$dir/log" --logger.errorlog="$dir/err" --listen_host=127.0.0.1 \
    --http_port="$http" --tcp_port="$tcp" --interserver_http_port="$inter" >"$dir/stdout" 2>&1 9>&- &
  echo $! >"$dir/pid"
  for _ in $(seq 1 100); do
    if [[ "$(curl -s "http://127.0.0.1:$http/?query=SELECT%201" 2>/dev/null)" == "1" ]]; then
      echo "CLICKHOUSE_HTTP=http://127.0.0.1:$http" | tee "$dir/env"
      echo "CLICKHOUSE_PID=$(cat "$dir/pid")" >>"$dir/env"
      return
    fi
    sleep 0.2
  done
  echo "error: clickhouse did not answer on 127.0.0.1:$http within 20 s; see $dir/err" >&2
  exit 1
}

stop_pid() {
  local dir="$STATE/$1"
  if [[ -f "$dir/pid" ]]; then
    local pid; pid=$(cat "$dir/pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -rf "$dir"
  fi
}

status() {
  for service in clickhouse; do
    local dir="$STATE/$service"
    if [[ -f "$dir/pid" ]] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
      echo "$service: running ($(head -1 "$dir/env"))"
    else
      echo "$service: stopped"
    fi
  done
}

case "${1:-}" in
  start)
    case "${2:-}" in
      clickhouse) clickhouse_start ;;
      *) echo "error: start what? one of: clickhouse" >&2; exit 2 ;;
    esac ;;
  stop)
    case "${2:-}" in
      clickhouse) stop_pid clickhouse ;;
      *) echo "error: stop what? one of: clickhouse" >&2; exit 2 ;;
    esac ;;
  status) status ;;
  -h|--help|help|"") usage ;;
  *) echo "error: unknown command '$1'" >&2; usage; exit 2 ;;
esac
