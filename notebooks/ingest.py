# Databricks notebook source
# MAGIC %md
# MAGIC # Ingest
# MAGIC Landing files under the data directory become bronze, quarantine and silver Delta tables.
# MAGIC Running it again adds nothing. The pseudonymisation key must be in the cluster's environment
# MAGIC (for example from a secret scope) as `SPINBACK_PSEUDONYM_KEY`.

# COMMAND ----------

# MAGIC %run ./_setup

# COMMAND ----------

from spinback.ingest.job import run_ingest_generated

report = run_ingest_generated(spark, config)
print(report)
