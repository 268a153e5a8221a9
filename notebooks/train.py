# Databricks notebook source
# MAGIC %md
# MAGIC # Train the recommender
# MAGIC ALS with implicit preferences on the silver plays; the run, its metrics and the model go to
# MAGIC the workspace's MLflow, and the new version gets the configured registry alias.

# COMMAND ----------

# MAGIC %run ./_setup

# COMMAND ----------

from spinback.recommend.train import run_train

result = run_train(spark, config)
print(result)
