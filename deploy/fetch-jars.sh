#!/usr/bin/env bash
# Resolve the Delta JARs once, at setup, so that the first job or test does not wait on it.
#
# Spark resolves spark.jars.packages with Ivy, which looks in ~/.m2 before Maven Central. Ivy
# and Maven pick different versions of shared dependencies (Maven: nearest wins; Ivy: latest), so
# a ~/.m2 filled by `mvn dependency:get` can hold only the POM of a version Ivy wants, and Ivy then
# fails on the missing JAR rather than fetching it. Hence the order: Ivy straight from Maven
# Central first; only if that fails, Maven fetches the tree into ~/.m2 and then, one by one, each
# JAR Ivy still reports missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-.venv/bin/python}
package=$(sed -n 's/^  delta_package: "\(.*\)"/\1/p' conf/base.yaml)
IFS=: read -r group artifact version <<<"$package"

compgen -G "$HOME/.ivy2*/jars/${group}_${artifact}-${version}.jar" >/dev/null && exit 0

log=$(mktemp)
trap 'rm -f "$log"' EXIT

resolve() {
  # A local session with the package: what every Spinback run does, minus the work.
  "$PYTHON" - "$package" >"$log" 2>&1 <<'EOF'
import sys

from pyspark.sql import SparkSession

spark = (
    SparkSession.builder.master("local[1]")
    .config("spark.jars.packages", sys.argv[1])
    .config("spark.ui.enabled", "false")
    .getOrCreate()
)
spark.stop()
EOF
}

echo "setup: resolving $package" >&2
resolve && exit 0

if ! command -v mvn >/dev/null 2>&1; then
  echo "setup: could not resolve $package and mvn is not installed:" >&2
  tail -5 "$log" >&2
  exit 1
fi
echo "setup: direct resolution failed; fetching $package into ~/.m2 with Maven" >&2
mvn --batch-mode --quiet dependency:get -Dartifact="$package" -Dtransitive=true
for attempt in 1 2 3; do
  resolve && exit 0
  # Ivy names each JAR it could not get as "download failed: group#artifact;version!file.jar".
  missing=$(grep -o 'download failed: [^!]*' "$log" | sed 's/download failed: //' | sort -u)
  [ -z "$missing" ] && break
  while read -r coordinate; do
    IFS='#;' read -r g a v <<<"$coordinate"
    mvn --batch-mode --quiet dependency:get -Dartifact="$g:$a:$v" -Dtransitive=false
  done <<<"$missing"
done
echo "setup: could not resolve $package:" >&2
tail -5 "$log" >&2
exit 1
