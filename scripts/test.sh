#!/usr/bin/env bash
# The one test command (README, CI): installs what the tests need when missing, builds with
# warnings as errors, checks formatting, and runs every test. Servers a test suite needs are
# started by scripts/services.sh on 127.0.0.1 and stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "${1:-}" == "--help" || "${1:-}" == "-h" ]]; then
  echo "usage: scripts/test.sh [dotnet test arguments…]   e.g. scripts/test.sh --filter FullyQualifiedName~Collect"
  exit 0
fi

if ! command -v dotnet >/dev/null 2>&1; then
  echo "error: the .NET 10 SDK is required (dotnet not on PATH)." >&2
  exit 1
fi
# The SDK compatibility tests drive the real Segment and RudderStack Node SDKs, and their browser
# SDKs bundled with esbuild (tests/sdk/build-browser.mjs), all from tests/sdk's package-lock.json.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "== installing node and npm (Debian packages)"
  apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null
fi
if [[ ! -d tests/sdk/node_modules ]] || [[ tests/sdk/package-lock.json -nt tests/sdk/node_modules ]]; then
  echo "== npm install (tests/sdk, versions from package-lock.json)"
  # Not `npm ci`: npm 11 refuses the lock because it records only this platform's variants of an
  # optional native package (msgpackr-extract); `npm install` still takes every version from the lock.
  npm install --prefix tests/sdk --no-audit --no-fund --no-save --loglevel=error
fi

# The dashboard tests drive Debian's chromium headless (Playwright with ExecutablePath; npm and
# Playwright never download a browser).
if [[ ! -x /usr/bin/chromium ]]; then
  echo "== installing chromium (Debian package)"
  apt-get install -y -qq chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
fi

# The alert tests use Debian's promtool and prometheus (check metrics, test rules, scrape a hub),
# prometheus-alertmanager (the alertmanager channel) and python3-aiosmtpd (a real SMTP server).
if ! command -v promtool >/dev/null 2>&1 || ! command -v prometheus-alertmanager >/dev/null 2>&1 || ! /usr/bin/python3 -c 'import aiosmtpd' >/dev/null 2>&1; then
  echo "== installing prometheus, prometheus-alertmanager, python3-aiosmtpd (Debian packages)"
  apt-get install -y -qq prometheus prometheus-alertmanager python3-aiosmtpd >/dev/null 2>&1 \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus prometheus-alertmanager python3-aiosmtpd >/dev/null; }
fi
# The Debian package starts its own services on a normal machine; the tests start their own on free ports.

# The scale-out tests (ClickHouse, queue, cluster, PostgreSQL) start their servers through
# scripts/services.sh (free ports on 127.0.0.1, data in a temporary folder, stopped after): a
# RabbitMQ node and a PostgreSQL cluster per test class, one ClickHouse server shared by all. The
# packages are installed here, once, rather than by test classes starting at the same time.
if ! command -v clickhouse-server >/dev/null 2>&1 || [[ ! -x /usr/lib/rabbitmq/bin/rabbitmq-server ]] \
  || { ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; }; then
  echo "== installing clickhouse-server, rabbitmq-server, postgresql (Debian packages)"
  apt-get install -y -qq clickhouse-server clickhouse-client rabbitmq-server postgresql >/dev/null 2>&1 \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clickhouse-server clickhouse-client rabbitmq-server postgresql >/dev/null; }
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

echo "== restore"
dotnet restore Atalaya.slnx --nologo -v q

echo "== build (warnings are errors)"
dotnet build Atalaya.slnx --no-restore --nologo -v q -c Release -warnaserror

echo "== format"
dotnet format Atalaya.slnx --no-restore --verify-no-changes

echo "== prometheus rules (promtool)"
(cd deploy/prometheus && promtool check rules rules.yml >/dev/null && promtool test rules rules_test.yml)

echo "== test"
log=$(mktemp)
# The ClickHouse tests start a server through scripts/services.sh (or reuse a running one); one
# that this run started is stopped at the end.
clickhouse_before=$(scripts/services.sh status | grep -c '^clickhouse: running' || true)
trap 'rm -f "$log"; if [[ "$clickhouse_before" == 0 ]]; then scripts/services.sh stop clickhouse >/dev/null 2>&1 || true; fi' EXIT
status=0
dotnet test tests/Atalaya.Tests --no-build -c Release --nologo \
  --logger "console;verbosity=normal" --results-directory artifacts/test-results "$@" 2>&1 | tee "$log" || status=$?

# One plain closing line for whoever reads the end of the log (CI included).
passed=$(awk '/^ +Passed: [0-9]+/ {s+=$2} END {print s+0}' "$log")
failed=$(awk '/^ +Failed: [0-9]+/ {s+=$2} END {print s+0}' "$log")
# CI shows only the end of the log: repeat each failed test with its message (up to its stack
# trace, at most 25 lines) just above the closing line.
if [[ "$failed" != 0 ]]; then
  echo
  echo "== failed tests"
  awk '/^  Failed [A-Za-z]/ {show=1; n=0} /^  (Passed|Skipped) / {show=0} /^  Stack Trace:/ {if (show) {print "  ..."}; show=0} show && n++ < 25 {print}' "$log"
fi
echo
echo "tests: ${passed} passed, ${failed} failed"
exit "$status"
