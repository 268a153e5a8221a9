"""Synthetic listening data: a catalog, users and a year of their plays, built with Spark.

``generate_listening`` builds the frames and ``write_generated`` lands them as Parquet for ingest.
"""

from spinback.generate.listening import GeneratedData, generate_listening, write_generated
from spinback.generate.plays import expected_plays

__all__ = ["GeneratedData", "expected_plays", "generate_listening", "write_generated"]
