#!/usr/bin/env bash
# System packages Spinback benefits from, installed where this machine allows it:
#   libopenblas0-pthread  native BLAS and LAPACK for MLlib (ALS trains about 1.5x faster)
#   chromium              headless browser the HTML story tests open pages in
#   fonts-dejavu-core     Latin, Greek and Cyrillic glyphs for those pages' screenshots
#   fonts-droid-fallback  CJK glyphs (small, unlike fonts-noto-cjk), so names are not boxes
# Without root or apt the run still works, on MLlib's pure-Java fallback; `spinback train` logs
# which implementation Spark picked. The browser tests skip without Chromium, and fail under CI=true.
set -euo pipefail

wanted=(libopenblas0-pthread chromium fonts-dejavu-core fonts-droid-fallback)
missing=()
for package in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "setup: not installing ${missing[*]} (needs root and apt);" \
    "MLlib falls back to Java BLAS and the browser tests cannot run" >&2
  exit 0
fi
echo "setup: installing ${missing[*]}" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
  >/dev/null
