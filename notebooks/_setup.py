# Databricks notebook source
# MAGIC %md
# MAGIC Shared set-up for the Spinback notebooks: widgets for the data directory and configuration
# MAGIC file, and the typed configuration in cluster mode. Run by the others with `%run ./_setup`.
# MAGIC The cluster needs the `spinback` wheel (`make package` builds it) as a library; Databricks
# MAGIC brings its own Spark, Delta and MLflow.

# COMMAND ----------

dbutils.widgets.text("data_dir", "dbfs:/spinback", "Data directory")
dbutils.widgets.text("conf_file", "", "Extra configuration file (optional)")

# COMMAND ----------

import logging

from spinback.cli import configure_logging
from spinback.config import load_config

configure_logging(logging.INFO)
config = load_config(
    mode="cluster",
    conf_file=dbutils.widgets.get("conf_file") or None,
    overrides=[f"data_dir={dbutils.widgets.get('data_dir')}"],
)
