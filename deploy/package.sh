#!/usr/bin/env bash
# Build what spark-submit ships: dist/spinback.zip (the package, for --py-files) and a wheel
# (for clusters that install libraries, such as Databricks). Prints the zip's path.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-$PWD/.venv/bin/python}

rm -rf dist && mkdir -p dist
"$python" - <<'PY'
import pathlib, zipfile
with zipfile.ZipFile("dist/spinback.zip", "w", zipfile.ZIP_DEFLATED) as archive:
    for path in sorted(pathlib.Path("src/spinback").rglob("*.py")) + [pathlib.Path("src/spinback/py.typed")]:
        archive.write(path, path.relative_to("src"))
    for path in sorted(pathlib.Path("conf").rglob("*.yaml")):
        archive.write(path, f"spinback/{path}")
PY
"$python" -m pip wheel --quiet --no-deps --wheel-dir dist . >/dev/null
echo "dist/spinback.zip"
