#!/usr/bin/env bash
# Copies the dashboards' chart library (Apache ECharts, the version locked in
# src/Atalaya/Dashboard/package-lock.json) from npm into src/Atalaya/Dashboard/wwwroot/vendor,
# with its licences. The copied files are committed: the hub serves them itself, so a clone
# builds and runs with nothing but the .NET SDK. Run it after changing the version in package.json
# (then `npm install --package-lock-only` in that folder) and commit the result.
set -euo pipefail
cd "$(dirname "$0")/.."
dashboard=src/Atalaya/Dashboard
vendor=$dashboard/wwwroot/vendor
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cp "$dashboard/package.json" "$dashboard/package-lock.json" "$work/"
# Installed outside the source tree so no node_modules folder lands in the project.
npm ci --prefix "$work" --ignore-scripts --no-audit --no-fund --loglevel=error

mkdir -p "$vendor"
modules=$work/node_modules
cp "$modules/echarts/dist/echarts.min.js" "$vendor/echarts.min.js"
cp "$modules/echarts/LICENSE" "$vendor/LICENSE-echarts.txt"
cp "$modules/echarts/NOTICE" "$vendor/NOTICE-echarts.txt"
# echarts.min.js bundles zrender and tslib's helpers.
cp "$modules/zrender/LICENSE" "$vendor/LICENSE-zrender.txt"
cp "$modules/tslib/LICENSE.txt" "$vendor/LICENSE-tslib.txt"
version=$(node -p "require('$modules/echarts/package.json').version")
sha=$(sha256sum "$vendor/echarts.min.js" | cut -d' ' -f1)
cat > "$vendor/README.md" <<TEXT
# Vendored front-end files

| file | package | version | licence |
|---|---|---|---|
| echarts.min.js | echarts (npm), dist/echarts.min.js | $version | Apache-2.0 (LICENSE-echarts.txt, NOTICE-echarts.txt); bundles zrender (BSD-3-Clause, LICENSE-zrender.txt) and tslib helpers (0BSD, LICENSE-tslib.txt) |

echarts.min.js sha256: $sha

Copied by scripts/refresh-vendor.sh from the versions locked in ../../package-lock.json; do not edit by hand.
TEXT
echo "vendor: echarts $version -> $vendor (sha256 $sha)"
