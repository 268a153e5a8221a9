"""Spinback: year-in-review stories and recommendations from listening logs, on Spark and Delta."""

__version__ = "0.1.0"
