#!/usr/bin/env bash
# Submit one Spinback job to a Spark cluster:
#   deploy/submit.sh spark://HOST:7077 ingest --data-dir s3a://bucket/spinback
# The driver runs here (client mode) with this checkout's conf/; executors get the package zip and
# the Delta JARs. Extra spark-submit options go in SPARK_SUBMIT_OPTIONS.
set -euo pipefail
cd "$(dirname "$0")/.."
master=$1 job=$2
shift 2

bash deploy/package.sh >/dev/null
package=$(sed -n 's/^  delta_package: "\(.*\)"/\1/p' conf/base.yaml)
export PYSPARK_PYTHON=${PYSPARK_PYTHON:-$PWD/.venv/bin/python}
export SPINBACK_CONF_DIR=${SPINBACK_CONF_DIR:-$PWD/conf}

# shellcheck disable=SC2086
exec .venv/bin/spark-submit \
  --master "$master" \
  --deploy-mode client \
  --packages "$package" \
  --py-files dist/spinback.zip \
  --conf spark.sql.extensions=io.delta.sql.DeltaSparkSessionExtension \
  --conf spark.sql.catalog.spark_catalog=org.apache.spark.sql.delta.catalog.DeltaCatalog \
  ${SPARK_SUBMIT_OPTIONS:-} \
  "jobs/$job.py" --mode cluster "$@"
