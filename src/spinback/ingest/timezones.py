"""A user's time zone: given, else inferred from the country most of their plays came from.

Countries with one zone map to it. For countries that span several zones the choice is ours and is
documented here: the zone where most of the country's people live, because that is where most of
its listeners are. A person in another zone of such a country should pass ``--timezone``.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

SINGLE_ZONE_COUNTRIES = {
    "AE": "Asia/Dubai",
    "AR": "America/Argentina/Buenos_Aires",
    "AT": "Europe/Vienna",
    "BE": "Europe/Brussels",
    "BG": "Europe/Sofia",
    "CH": "Europe/Zurich",
    "CO": "America/Bogota",
    "CZ": "Europe/Prague",
    "DE": "Europe/Berlin",
    "DK": "Europe/Copenhagen",
    "EE": "Europe/Tallinn",
    "EG": "Africa/Cairo",
    "FI": "Europe/Helsinki",
    "FR": "Europe/Paris",
    "GB": "Europe/London",
    "GR": "Europe/Athens",
    "HK": "Asia/Hong_Kong",
    "HR": "Europe/Zagreb",
    "HU": "Europe/Budapest",
    "IE": "Europe/Dublin",
    "IL": "Asia/Jerusalem",
    "IN": "Asia/Kolkata",
    "IS": "Atlantic/Reykjavik",
    "IT": "Europe/Rome",
    "JP": "Asia/Tokyo",
    "KE": "Africa/Nairobi",
    "KR": "Asia/Seoul",
    "LT": "Europe/Vilnius",
    "LU": "Europe/Luxembourg",
    "LV": "Europe/Riga",
    "MA": "Africa/Casablanca",
    "MY": "Asia/Kuala_Lumpur",
    "NG": "Africa/Lagos",
    "NL": "Europe/Amsterdam",
    "NO": "Europe/Oslo",
    "NZ": "Pacific/Auckland",
    "PE": "America/Lima",
    "PH": "Asia/Manila",
    "PK": "Asia/Karachi",
    "PL": "Europe/Warsaw",
    "PT": "Europe/Lisbon",
    "RO": "Europe/Bucharest",
    "RS": "Europe/Belgrade",
    "SA": "Asia/Riyadh",
    "SE": "Europe/Stockholm",
    "SG": "Asia/Singapore",
    "SI": "Europe/Ljubljana",
    "SK": "Europe/Bratislava",
    "TH": "Asia/Bangkok",
    "TR": "Europe/Istanbul",
    "TW": "Asia/Taipei",
    "UA": "Europe/Kyiv",
    "UY": "America/Montevideo",
    "VN": "Asia/Ho_Chi_Minh",
    "ZA": "Africa/Johannesburg",
}

# Several zones: the most populous one. Documented choices, not facts about any one person.
MULTI_ZONE_COUNTRIES = {
    "US": "America/New_York",  # Eastern time holds the largest share of the population
    "CA": "America/Toronto",
    "BR": "America/Sao_Paulo",
    "MX": "America/Mexico_City",
    "AU": "Australia/Sydney",
    "RU": "Europe/Moscow",
    "ID": "Asia/Jakarta",
    "ES": "Europe/Madrid",  # the Canary Islands are an hour behind
    "CL": "America/Santiago",
    "KZ": "Asia/Almaty",
}

COUNTRY_TIMEZONES = {**SINGLE_ZONE_COUNTRIES, **MULTI_ZONE_COUNTRIES}


def country_timezones(spark: SparkSession) -> DataFrame:
    """The table above as a small frame of ``country`` and ``inferred_time_zone``."""
    return spark.createDataFrame(
        sorted(COUNTRY_TIMEZONES.items()), "country string, inferred_time_zone string"
    )


def dominant_country(plays: DataFrame) -> DataFrame:
    """Per user, the country with the most plays (ties to the alphabetically first)."""
    counted = plays.where(F.col("country").isNotNull()).groupBy("user_id", "country").count()
    most_first = Window.partitionBy("user_id").orderBy(F.col("count").desc(), F.col("country"))
    return (
        counted.withColumn("position", F.row_number().over(most_first))
        .where(F.col("position") == 1)
        .select("user_id", F.upper("country").alias("country"))
    )


def users_from_plays(
    spark: SparkSession, plays: DataFrame, time_zone: str | None, default_time_zone: str
) -> DataFrame:
    """Silver user rows for the users in ``plays``: zone given, else inferred, else the default."""
    users = plays.select("user_id").distinct().join(dominant_country(plays), "user_id", "left")
    inferred = users.join(F.broadcast(country_timezones(spark)), "country", "left")
    zone: Column = (
        F.lit(time_zone)
        if time_zone
        else F.coalesce(F.col("inferred_time_zone"), F.lit(default_time_zone))
    )
    return inferred.select(
        "user_id",
        zone.alias("time_zone"),
        F.col("country"),
        F.lit(False).alias("opt_out_stories"),
        F.lit(False).alias("opt_out_recommendations"),
        F.lit(False).alias("opt_in_taste_twins"),
    )
