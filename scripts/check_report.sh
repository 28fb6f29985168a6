#!/usr/bin/env bash
# Render a report.html to a PNG with headless Chromium, to check it displays offline (network features off).
# Usage: scripts/check_report.sh RUN_DIR_OR_REPORT_HTML [OUT_PNG] [HEIGHT]
set -euo pipefail
src=${1:?usage: scripts/check_report.sh RUN_DIR_OR_REPORT_HTML [OUT_PNG] [HEIGHT]}
[ -d "$src" ] && src="$src/report.html"
[ -f "$src" ] || { echo "error: $src: no such report" >&2; exit 2; }
out=$(realpath -m "${2:-report.png}")
height=${3:-4000}
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || { echo "error: chromium not found (Debian: apt-get install -y chromium)" >&2; exit 2; }
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --user-data-dir="$profile" --hide-scrollbars \
  --screenshot="$out" --window-size=1280,"$height" "file://$(realpath "$src")" >/dev/null 2>&1
[ -s "$out" ] || { echo "error: chromium wrote no screenshot" >&2; exit 1; }
echo "$out"
