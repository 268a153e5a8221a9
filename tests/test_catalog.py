"""The catalog: tracks from plays, enrichment files, HetRec tag genres, and filling the gaps."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from pyspark.testing import assertDataFrameEqual

from conftest import SAMPLES
from spinback import schema
from spinback.ingest.catalog import (
    ARTIST_GENRES,
    ENRICHMENT,
    artist_genres_from_tags,
    catalog_from_plays,
    enrich,
    read_enrichment,
)
from spinback.ingest.detect import WrongFileKindError

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "generic"
HETREC = SAMPLES / "hetrec2011-lastfm-2k"

PLAY_COLUMNS = (
    "track_key string, track_name string, artist_key string, artist_name string, "
    "featured_artists array<struct<artist_key:string,artist_name:string>>, album_key string, "
    "album_name string, ms_played long, reason_end string, ms_played_estimated boolean"
)


def _play(
    track: str | None, name: str, ms: int, reason: str = "trackdone", estimated: bool = False
) -> tuple[object, ...]:
    return (
        track, name, "artist:band", "Band", [], "album:band | first", "First", ms, reason,
        estimated,
    )  # fmt: skip


def _catalog_row(key: str, **values: object) -> tuple[object, ...]:
    row: dict[str, object] = {field.name: None for field in schema.CATALOG.fields}
    row.update(track_key=key, **values)
    return tuple(row.values())


def test_catalog_from_plays_takes_common_names_and_the_full_play_length(
    spark: SparkSession,
) -> None:
    plays = spark.createDataFrame(
        [
            # T1 ran to the end 5 times: 200 000 twice, 210 000 twice, 150 000 once (started late).
            _play("t:1", "Song", 200_000),
            _play("t:1", "Song", 200_000),
            _play("t:1", "Song", 150_000),
            _play("t:1", "Song", 210_000),
            _play("t:1", "song", 210_000),
            # Estimated and cut-short plays do not tell the length, however common.
            _play("t:1", "Song", 180_000, estimated=True),
            _play("t:1", "Song", 180_000, estimated=True),
            _play("t:1", "Song", 180_000, estimated=True),
            _play("t:1", "Song", 90_000, reason="fwdbtn"),
            _play("t:1", "Song", 90_000, reason="fwdbtn"),
            _play("t:1", "Song", 90_000, reason="fwdbtn"),
            # T2 never ran to the end; its two names are equally common.
            _play("t:2", "B side", 5_000, reason="fwdbtn"),
            _play("t:2", "A side", 6_000, reason="fwdbtn"),
            # No track key: no catalog row.
            _play(None, "Nothing", 100_000),
        ],
        PLAY_COLUMNS,
    )

    catalog = catalog_from_plays(plays)

    common = {"artist_key": "artist:band", "artist_name": "Band", "featured_artists": [],
              "album_key": "album:band | first", "album_name": "First"}  # fmt: skip
    expected = spark.createDataFrame(
        [
            # 200 000 and 210 000 are equally common among full plays: the longer one wins.
            _catalog_row("t:1", track_name="Song", duration_ms=210_000, **common),
            # "A side" < "B side"; no full play, no duration.
            _catalog_row("t:2", track_name="A side", **common),
        ],
        schema.CATALOG,
    )
    assertDataFrameEqual(catalog, expected)


@pytest.mark.parametrize("name", ["enrichment.csv", "enrichment.json"])
def test_read_enrichment_from_csv_or_json(spark: SparkSession, name: str) -> None:
    facts = read_enrichment(spark, str(FIXTURES / name))

    expected = spark.createDataFrame(
        [
            ("player:track:T1", None, None, ["rock", "indie"], 1999, 201_000),
            # "2003-05-01" -> 2003; 180 000.4 ms rounds to 180 000.
            (None, "track:band two | song b", "artist:band two", ["pop", "dance"], 2003, 180_000),
            # No track: a fact about the artist.
            (None, None, "artist:band three", ["jazz"], None, None),
            # Words where numbers belong become nulls, not errors.
            (None, "track:band four | song f", "artist:band four", None, None, None),
        ],
        ENRICHMENT,
    )
    assertDataFrameEqual(facts, expected)


def test_enrichment_without_a_key_column_is_refused(spark: SparkSession, tmp_path: Path) -> None:
    path = tmp_path / "facts.csv"
    path.write_text("title,genres\nSong,rock\n", encoding="utf-8")

    with pytest.raises(WrongFileKindError, match=r"facts\.csv: not an enrichment file; expected "):
        read_enrichment(spark, str(path))


def test_enrich_fills_only_what_is_missing_in_order_of_precedence(spark: SparkSession) -> None:
    catalog = spark.createDataFrame(
        [
            # Has a duration and genres of its own: they stay; the key row adds the year.
            _catalog_row("player:track:T1", track_name="Song A", artist_key="artist:band one",
                         artist_name="Band One", duration_ms=199_000, genres=["grunge"]),
            # An id key, matched by its names; empty genres count as missing.
            _catalog_row("spotify:track:xyz", track_name="Song B", artist_key="artist:band two",
                         artist_name="Band Two", genres=[]),
            # Only the artist is known to the enrichment file.
            _catalog_row("track:band three | song c", track_name="Song C",
                         artist_key="artist:band three", artist_name="Band Three"),
            # Only the tags know this artist.
            _catalog_row("track:band five | song e", track_name="Song E",
                         artist_key="artist:band five", artist_name="Band Five"),
        ],
        schema.CATALOG,
    )  # fmt: skip
    tags = spark.createDataFrame(
        [("artist:band three", ["bebop"]), ("artist:band five", ["shoegaze", "dream pop"])],
        ARTIST_GENRES,
    )

    enriched = enrich(catalog, read_enrichment(spark, str(FIXTURES / "enrichment.csv")), tags)

    expected = spark.createDataFrame(
        [
            _catalog_row("player:track:T1", track_name="Song A", artist_key="artist:band one",
                         artist_name="Band One", duration_ms=199_000, release_year=1999,
                         genres=["grunge"]),
            _catalog_row("spotify:track:xyz", track_name="Song B", artist_key="artist:band two",
                         artist_name="Band Two", duration_ms=180_000, release_year=2003,
                         genres=["pop", "dance"]),
            # The enrichment's artist row ("jazz") comes before the tags ("bebop").
            _catalog_row("track:band three | song c", track_name="Song C",
                         artist_key="artist:band three", artist_name="Band Three",
                         genres=["jazz"]),
            _catalog_row("track:band five | song e", track_name="Song E",
                         artist_key="artist:band five", artist_name="Band Five",
                         genres=["shoegaze", "dream pop"]),
        ],
        schema.CATALOG,
    )  # fmt: skip
    assertDataFrameEqual(enriched, expected)


def test_enrich_without_sources_changes_nothing(spark: SparkSession) -> None:
    catalog = spark.createDataFrame(
        [_catalog_row("t:1", track_name="Song", duration_ms=1000)], schema.CATALOG
    )

    assertDataFrameEqual(enrich(catalog), catalog)


def test_artist_genres_from_hand_written_hetrec_files(spark: SparkSession) -> None:
    genres = artist_genres_from_tags(spark, str(FIXTURES / "hetrec"), top_n=3)

    expected = spark.createDataFrame(
        [
            # Ids 1 "Band One" and 3 "band one" are one artist. rock: users 10 (twice) and 11
            # (" Rock ") = 2; indie: users 12 and 13 = 2; pop: user 17 = 1. Ties alphabetical.
            ("artist:band one", ["indie", "rock", "pop"]),
            # "Tropicália" is Latin-1 in tags.dat: users 14 and 16 = 2, then pop = 1.
            ("artist:café tacvba", ["tropicália", "pop"]),
            # "Lonely" has no tags; artist 42 has tags but no name: neither appears.
        ],
        ARTIST_GENRES,
    )
    assertDataFrameEqual(genres, expected)


def test_top_n_keeps_the_most_applied_tags(spark: SparkSession) -> None:
    genres = artist_genres_from_tags(spark, str(FIXTURES / "hetrec"), top_n=1).collect()

    assert sorted((row["artist_key"], row["genres"]) for row in genres) == [
        ("artist:band one", ["indie"]),
        ("artist:café tacvba", ["tropicália"]),
    ]
    with pytest.raises(ValueError, match=r"top_n: 0 is not allowed; expected an integer >= 1"):
        artist_genres_from_tags(spark, str(FIXTURES / "hetrec"), top_n=0)


def _python_tag_genres(directory: Path, top_n: int) -> dict[str, list[str]]:
    """The same rule as artist_genres_from_tags, computed with the csv module alone."""
    with (directory / "artists.dat").open(newline="", encoding="utf-8") as handle:
        rows = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        names = {row["id"]: row["name"].strip(" ").lower() for row in rows}
    with (directory / "tags.dat").open(newline="", encoding="latin-1") as handle:
        rows = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        tags = {row["tagID"]: row["tagValue"].strip(" ").lower() for row in rows}
    users: dict[tuple[str, str], set[str]] = defaultdict(set)
    with (directory / "user_taggedartists.dat").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            name, tag = names.get(row["artistID"]), tags.get(row["tagID"])
            if name and tag:
                users[(f"artist:{name}", tag)].add(row["userID"])
    ranked: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for (artist, tag), who in users.items():
        ranked[artist].append((-len(who), tag))
    return {artist: [tag for _, tag in sorted(pairs)[:top_n]] for artist, pairs in ranked.items()}


@pytest.mark.skipif(not HETREC.exists(), reason="shared samples are not on this machine")
def test_artist_genres_from_the_hetrec_sample_match_a_python_count(spark: SparkSession) -> None:
    expected = _python_tag_genres(HETREC, top_n=3)

    genres = artist_genres_from_tags(spark, str(HETREC), top_n=3)
    found = {row["artist_key"]: row["genres"] for row in genres.collect()}

    assert len(found) == len(expected)
    assert found == expected
    # A spot check: Latin-1 tags arrive as text, not as replacement characters.
    assert not any("\ufffd" in genre for values in found.values() for genre in values)
