#!/usr/bin/env bash
# Takes the README's pictures of the three dashboards (vendor, country lead, admin): a real hub on
# generated demo data, opened in headless Chromium at 1366 px, into docs/images/.
# Needs Debian's chromium (scripts/test.sh installs it). Usage: scripts/screenshots.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null; then
  echo "chromium is missing: sudo apt-get install -y chromium (or run scripts/test.sh once)" >&2
  exit 2
fi
dotnet build tests/Atalaya.Tests -c Release -v q
ATALAYA_README_IMAGES="$PWD/docs/images" dotnet test tests/Atalaya.Tests --no-build -c Release \
  --filter "FullyQualifiedName~Atalaya.Tests.Dashboard.ReadmeScreenshots"
ls -l docs/images/dashboard-*.png
