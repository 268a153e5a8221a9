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

# COMMAND ----------

# MAGIC %md
# MAGIC ## Tune
# MAGIC Each trial is a child run of the search; the winner becomes `champion` only when it beats
# MAGIC the current champion and popularity on the held-out test.

# COMMAND ----------

from spinback.recommend.tune import run_tune

tuned = run_tune(spark, config)
print(tuned.promotion)
print(tuned.test_metrics)

# COMMAND ----------

# MAGIC %md
# MAGIC ## Recommend
# MAGIC Top-k tracks for every user from the champion into `gold/recommendations`, and the
# MAGIC recommender stories into `gold/recommendation_stories`.

# COMMAND ----------

from spinback.recommend.job import run_recommend

print(run_recommend(spark, config))
