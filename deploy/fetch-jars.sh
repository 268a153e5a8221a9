#!/usr/bin/env bash
# Put the Delta JARs (and their dependencies) into the local Maven repository, ~/.m2, which Spark's
# Ivy searches when it resolves spark.jars.packages. Spark can often fetch them itself; this makes
# the first run independent of how Ivy reaches Maven Central, and costs nothing once they are there.
set -euo pipefail
cd "$(dirname "$0")/.."

package=$(sed -n 's/^  delta_package: "\(.*\)"/\1/p' conf/base.yaml)
IFS=: read -r group artifact version <<<"$package"
jar="$HOME/.m2/repository/${group//.//}/$artifact/$version/$artifact-$version.jar"
[ -f "$jar" ] && exit 0

if ! command -v mvn >/dev/null 2>&1; then
  echo "setup: mvn not found; Spark will resolve $package through Ivy at the first run" >&2
  exit 0
fi
echo "setup: fetching $package into ~/.m2" >&2
mvn --batch-mode --quiet dependency:get -Dartifact="$package" -Dtransitive=true
