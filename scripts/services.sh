#!/usr/bin/env bash
# Starts and stops the local servers that scale-out features, tests and benchmarks use, on
# 127.0.0.1 only, with data in a temporary folder. Installs them from Debian packages when
# missing. State (ports, pids, folders) lives in $ATALAYA_SERVICES (default /tmp/atalaya-services).
#
#   scripts/services.sh start clickhouse   # prints CLICKHOUSE_HTTP=http://127.0.0.1:PORT
#   scripts/services.sh start rabbitmq     # prints RABBITMQ_URI=amqp://guest:guest@127.0.0.1:PORT/
#   scripts/services.sh start postgres     # prints POSTGRES=Host=127.0.0.1;Port=PORT;Username=...;Database=...
#   scripts/services.sh stop clickhouse|rabbitmq|postgres
#   scripts/services.sh pause rabbitmq|postgres   # stops the server, keeps its port and data
#   scripts/services.sh resume rabbitmq|postgres  # starts it again on the same port and data
#   scripts/services.sh ctl rabbitmq ARGS  # rabbitmqctl ARGS against that node (e.g. list_queues)
#   scripts/services.sh status
set -euo pipefail

STATE=${ATALAYA_SERVICES:-/tmp/atalaya-services}
mkdir -p "$STATE"

usage() {
  sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
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

# RabbitMQ runs as its own Erlang node: a node name, an AMQP port, a distribution port and an
# epmd port of its own, so that two runs (two checkouts, two test processes) never meet; its
# cookie lives in the state folder (HOME) and no plugin is enabled (no management listener).
rabbitmq_env() {
  local dir="$STATE/rabbitmq"
  export HOME="$dir/home" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 ERL_EPMD_ADDRESS=127.0.0.1
  export RABBITMQ_NODE_PORT RABBITMQ_DIST_PORT ERL_EPMD_PORT RABBITMQ_NODENAME
  RABBITMQ_NODE_PORT=$(cat "$dir/amqp_port"); RABBITMQ_DIST_PORT=$(cat "$dir/dist_port")
  ERL_EPMD_PORT=$(cat "$dir/epmd_port"); RABBITMQ_NODENAME="atalaya$RABBITMQ_NODE_PORT@localhost"
  export RABBITMQ_MNESIA_BASE="$dir/mnesia" RABBITMQ_LOG_BASE="$dir/log"
  export RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins" RABBITMQ_CONF_ENV_FILE="$dir/rabbitmq-env.conf"
  export RABBITMQ_CONFIG_FILE="$dir/rabbitmq" RABBITMQ_ADVANCED_CONFIG_FILE="$dir/advanced.config"
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
}

# True once the broker answers the AMQP 0-9-1 protocol header with a Connection.Start frame
# (the listener opens only when the node has finished booting).
amqp_ready() {
  python3 - "$1" <<'EOF' 2>/dev/null
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1)
s.sendall(b"AMQP\x00\x00\x09\x01")
frame = s.recv(7)
sys.exit(0 if len(frame) == 7 and frame[0] == 1 else 1)
EOF
}

rabbitmq_run() {
  local dir="$STATE/rabbitmq"
  (rabbitmq_env; exec /usr/lib/rabbitmq/bin/rabbitmq-server) >>"$dir/stdout" 2>&1 &
  echo $! >"$dir/pid"
  local port; port=$(cat "$dir/amqp_port")
  for _ in $(seq 1 300); do
    if amqp_ready "$port"; then
      echo "RABBITMQ_URI=amqp://guest:guest@127.0.0.1:$port/" | tee "$dir/env"
      echo "RABBITMQ_PID=$(cat "$dir/pid")" >>"$dir/env"
      return
    fi
    kill -0 "$(cat "$dir/pid")" 2>/dev/null || break
    sleep 0.1
  done
  echo "error: rabbitmq did not answer on 127.0.0.1:$port within 30 s; see $dir/stdout and $dir/log" >&2
  exit 1
}

rabbitmq_start() {
  local dir="$STATE/rabbitmq"
  if [[ -f "$dir/pid" ]] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
    cat "$dir/env"
    return
  fi
  [[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ]] || apt_install rabbitmq-server
  rabbitmq_kill_epmd
  rm -rf "$dir" && mkdir -p "$dir/home" "$dir/mnesia" "$dir/log"
  echo '[].' >"$dir/enabled_plugins"
  free_port >"$dir/amqp_port"; free_port >"$dir/dist_port"; free_port >"$dir/epmd_port"
  rabbitmq_run
}

# Stops the node (SIGTERM is a clean shutdown for RabbitMQ) and waits until it is gone.
rabbitmq_halt() {
  local dir="$STATE/rabbitmq"
  [[ -f "$dir/pid" ]] || return 0
  local pid; pid=$(cat "$dir/pid")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$dir/pid"
}

rabbitmq_kill_epmd() {
  local dir="$STATE/rabbitmq"
  [[ -f "$dir/epmd_port" ]] || return 0
  ERL_EPMD_PORT=$(cat "$dir/epmd_port") epmd -kill >/dev/null 2>&1 || true
}

rabbitmq_stop() {
  rabbitmq_halt
  rabbitmq_kill_epmd
  rm -rf "$STATE/rabbitmq"
}

rabbitmq_pause() {
  local dir="$STATE/rabbitmq"
  [[ -f "$dir/amqp_port" ]] || { echo "error: rabbitmq was not started; run: $0 start rabbitmq" >&2; exit 2; }
  rabbitmq_halt
  echo "rabbitmq: paused (port $(cat "$dir/amqp_port") and data kept; resume with: $0 resume rabbitmq)"
}

rabbitmq_resume() {
  local dir="$STATE/rabbitmq"
  [[ -f "$dir/amqp_port" ]] || { echo "error: rabbitmq was not started; run: $0 start rabbitmq" >&2; exit 2; }
  if [[ -f "$dir/pid" ]] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
    cat "$dir/env"
    return
  fi
  rabbitmq_run
}

rabbitmq_ctl() {
  local dir="$STATE/rabbitmq"
  [[ -f "$dir/pid" ]] && kill -0 "$(cat "$dir/pid")" 2>/dev/null \
    || { echo "error: rabbitmq is not running; run: $0 start rabbitmq" >&2; exit 2; }
  (rabbitmq_env; exec /usr/lib/rabbitmq/bin/rabbitmqctl -n "$RABBITMQ_NODENAME" "$@")
}

# PostgreSQL refuses to run as root, so its cluster belongs to the postgres user when we are root.
pg_bin() {
  local tool=$1
  if command -v "$tool" >/dev/null 2>&1; then command -v "$tool"; return; fi
  ls /usr/lib/postgresql/*/bin/"$tool" 2>/dev/null | sort -V | tail -1
}

as_pg_user() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

postgres_start() {
  local dir="$STATE/postgres"
  if [[ -f "$dir/pid" ]] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
    cat "$dir/env"
    return
  fi
  [[ -n "$(pg_bin initdb)" ]] || apt_install postgresql
  local initdb pg_ctl user port
  initdb=$(pg_bin initdb); pg_ctl=$(pg_bin pg_ctl)
  user=$([[ $(id -u) -eq 0 ]] && echo postgres || id -un)
  rm -rf "$dir" && mkdir -p "$dir"
  [[ $(id -u) -eq 0 ]] && chown postgres "$dir"
  # Trust authentication: the server listens on 127.0.0.1 only and lives as long as a test run.
  as_pg_user "$initdb" -D "$dir/data" -U "$user" --auth=trust --encoding=UTF8 --no-sync >"$dir/initdb.log" 2>&1 \
    || { echo "error: initdb failed; see $dir/initdb.log" >&2; exit 1; }
  port=$(free_port)
  echo "$port" >"$dir/port"
  echo "POSTGRES=Host=127.0.0.1;Port=$port;Username=$user;Database=postgres" >"$dir/env"
  postgres_run
  cat "$dir/env"
}

postgres_run() {
  local dir="$STATE/postgres" port
  port=$(cat "$dir/port")
  if ! as_pg_user "$(pg_bin pg_ctl)" -D "$dir/data" -l "$dir/log" -w -t 30 \
      -o "-k $dir -h 127.0.0.1 -p $port -c fsync=off" start >/dev/null; then
    echo "error: postgres did not start on 127.0.0.1:$port; see $dir/log" >&2
    exit 1
  fi
  head -1 "$dir/data/postmaster.pid" >"$dir/pid"
  sed -i '/^POSTGRES_PID=/d' "$dir/env"
  echo "POSTGRES_PID=$(cat "$dir/pid")" >>"$dir/env"
}

# Stops the server (fast shutdown: open connections are cut, as when it goes away) and keeps its
# port and data, so that tests can take the shared state away and bring it back.
postgres_pause() {
  local dir="$STATE/postgres"
  [[ -f "$dir/port" ]] || { echo "error: postgres was not started; run: $0 start postgres" >&2; exit 2; }
  as_pg_user "$(pg_bin pg_ctl)" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -f "$dir/pid"
  echo "postgres: paused (port $(cat "$dir/port") and data kept; resume with: $0 resume postgres)"
}

postgres_resume() {
  local dir="$STATE/postgres"
  [[ -f "$dir/port" ]] || { echo "error: postgres was not started; run: $0 start postgres" >&2; exit 2; }
  if ! { [[ -f "$dir/pid" ]] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; }; then
    postgres_run
  fi
  head -1 "$dir/env"
}

postgres_stop() {
  local dir="$STATE/postgres"
  [[ -d "$dir/data" ]] && as_pg_user "$(pg_bin pg_ctl)" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  stop_pid postgres
  rm -rf "$dir"
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
  for service in clickhouse rabbitmq postgres; do
    local dir="$STATE/$service"
    if [[ -f "$dir/pid" ]] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
      echo "$service: running ($(head -1 "$dir/env"))"
    elif [[ -f "$dir/amqp_port" || -f "$dir/port" ]]; then
      echo "$service: paused (port $(cat "$dir/amqp_port" 2>/dev/null || cat "$dir/port"))"
    else
      echo "$service: stopped"
    fi
  done
}

case "${1:-}" in
  start)
    case "${2:-}" in
      clickhouse) clickhouse_start ;;
      rabbitmq) rabbitmq_start ;;
      postgres) postgres_start ;;
      *) echo "error: start what? one of: clickhouse, rabbitmq, postgres" >&2; exit 2 ;;
    esac ;;
  stop)
    case "${2:-}" in
      clickhouse) stop_pid clickhouse ;;
      rabbitmq) rabbitmq_stop ;;
      postgres) postgres_stop ;;
      *) echo "error: stop what? one of: clickhouse, rabbitmq, postgres" >&2; exit 2 ;;
    esac ;;
  pause|resume)
    [[ "${2:-}" == rabbitmq || "${2:-}" == postgres ]] || { echo "error: $1 what? rabbitmq or postgres" >&2; exit 2; }
    "${2}_$1" ;;
  ctl)
    [[ "${2:-}" == rabbitmq ]] || { echo "error: ctl what? only rabbitmq (ctl rabbitmq ARGS runs rabbitmqctl)" >&2; exit 2; }
    shift 2
    rabbitmq_ctl "$@" ;;
  status) status ;;
  -h|--help|help|"") usage ;;
  *) echo "error: unknown command '$1'" >&2; usage; exit 2 ;;
esac
