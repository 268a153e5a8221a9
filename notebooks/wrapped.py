# Databricks notebook source
# MAGIC %md
# MAGIC # Year in review
# MAGIC Every user's stories for one period, into `gold/stories` and one JSON document per user.

# COMMAND ----------

# MAGIC %run ./_setup

# COMMAND ----------

dbutils.widgets.text("period", config.wrapped.period, "Period (a calendar year)")

# COMMAND ----------

from spinback.stories.job import run_wrapped

result = run_wrapped(spark, config, dbutils.widgets.get("period"))
display(spark.read.format("delta").load(result.stories_table).limit(20))
