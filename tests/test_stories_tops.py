"""Top tracks, artists (with the #1 fan percentile), albums, genres and podcasts."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from pyspark.sql import SparkSession

from conftest import local_test_config
from spinback.stories import tops
from spinback.stories.inputs import StoryInputs
from story_support import inputs_from_plays, play, stories_by_user

# Small thresholds keep the history tiny: 3 distinct tracks, top 2, a list of 3, a population of 3.
OVERRIDES = (
    "wrapped.min_distinct_tracks=3",
    "wrapped.top_n=2",
    "wrapped.top_list_size=3",
    "wrapped.min_population=3",
    "wrapped.fan_buckets=[20, 30, 50]",
)
MARCH = datetime(2025, 3, 3, 8, 0)
MINUTE = 60_000


def plays_of(
    user: str, artist: str, count: int, start: datetime, ms: int = MINUTE, **details: Any
) -> list[dict[str, Any]]:
    """``count`` plays of ``ms`` each, an hour apart from ``start``."""
    return [play(user, start + timedelta(hours=i), ms, artist, **details) for i in range(count)]


PLAYS = [
    # Star's listeners by minutes: fan1 5, fan2 4, fan3 2, fan4 2. Rare's: rare 3, fan2 1.
    *plays_of("fan1", "Star", 5, MARCH),
    *plays_of("fan2", "Star", 4, MARCH),
    *plays_of("fan2", "Rare", 1, MARCH + timedelta(days=1)),
    *plays_of("fan3", "Star", 2, MARCH),
    *plays_of("fan4", "Star", 2, MARCH),
    *plays_of("rare", "Rare", 3, MARCH),
    # tracks (all by Band): T1 3 streams and 3 min, and a first play in November 2024; T3 2 streams
    # of 90 s (3 min); T2 2 streams (2 min); T4 1 stream plus a private play (2 min); T5 only 10 s.
    play("tracks", datetime(2024, 11, 20, 9, 0), MINUTE, "Band", track="T1"),
    *plays_of("tracks", "Band", 3, MARCH, track="T1"),
    *plays_of("tracks", "Band", 2, MARCH + timedelta(days=1), ms=90_000, track="T3"),
    *plays_of("tracks", "Band", 2, MARCH + timedelta(days=2), track="T2"),
    play("tracks", MARCH + timedelta(days=3), MINUTE, "Band", track="T4"),
    play("tracks", MARCH + timedelta(days=4), MINUTE, "Band", track="T4", private=True),
    play("tracks", MARCH + timedelta(days=5), 10_000, "Band", track="T5"),
    play("one", MARCH, 45_000, "Solo"),
    # albums: Full 3 of its 3 tracks (3 streams); Half 2 of its 4 tracks (4 streams, 50 % < 70 %);
    # Loose is unknown to the catalog (1 stream, counted). halfonly: 1 track of Half's 4.
    *[
        play("albums", MARCH + timedelta(hours=i), MINUTE, "Folk", track=f"F{i}", album="Full")
        for i in (1, 2, 3)
    ],
    *[
        play("albums", MARCH + timedelta(days=1, hours=i), MINUTE, "Hal", track=t, album="Half")
        for i, t in enumerate(["H1", "H1", "H2", "H2"])
    ],
    play("albums", MARCH + timedelta(days=2), MINUTE, "Lou", track="L1", album="Loose"),
    play("halfonly", MARCH, MINUTE, "Hal", track="H1", album="Half"),
    # genres: G3 first (jazz, from its artist's other track), G1 twice (rock + pop), G2 (rock),
    # G5 (no genre anywhere).
    play("genres", MARCH, MINUTE, "Gx", track="G3"),
    *plays_of("genres", "GA", 2, MARCH + timedelta(hours=1), track="G1"),
    play("genres", MARCH + timedelta(hours=3), MINUTE, "GA", track="G2"),
    play("genres", MARCH + timedelta(hours=4), MINUTE, "Nobody", track="G5"),
    # pod: News 45 min first, Talk 30 + 15 min, Tiny 10 s (no 30 s rule for podcasts).
    play("pod", MARCH, 2_700_000, "News", content_type="podcast"),
    play("pod", MARCH + timedelta(hours=1), 1_800_000, "Talk", content_type="podcast"),
    play("pod", MARCH + timedelta(hours=2), 900_000, "Talk", content_type="podcast"),
    play("pod", MARCH + timedelta(hours=3), 10_000, "Tiny", content_type="podcast"),
]
CATALOG = [
    *[
        {"track_key": f"key-F{i}", "artist_key": "key-Folk", "album_key": "album-Full"}
        for i in (1, 2, 3)
    ],
    *[
        {"track_key": f"key-H{i}", "artist_key": "key-Hal", "album_key": "album-Half"}
        for i in range(1, 5)
    ],
    {"track_key": "key-G1", "artist_key": "key-GA", "genres": ["rock", "pop"]},
    {"track_key": "key-G2", "artist_key": "key-GA", "genres": ["rock"]},
    {"track_key": "key-G4", "artist_key": "key-Gx", "genres": ["jazz"]},
]
USERS = sorted({p["user_id"] for p in PLAYS})


@pytest.fixture(scope="module")
def inputs(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> StoryInputs:
    config = local_test_config(tmp_path_factory.mktemp("tops"), *OVERRIDES)
    zones = dict.fromkeys(USERS, "UTC")
    return inputs_from_plays(spark, PLAYS, zones, config, catalog=CATALOG)


def test_top_tracks_rank_streams_then_minutes_and_date_the_first_play_ever(
    inputs: StoryInputs,
) -> None:
    stories = stories_by_user(tops.top_tracks(inputs), "top_tracks")
    assert set(stories) == set(USERS)

    def track(rank: int, name: str, streams: int, minutes: float) -> dict[str, Any]:
        return {
            "rank": rank,
            "name": name,
            "artist": "Band",
            "track_key": f"key-{name}",
            "streams": streams,
            "minutes": minutes,
        }

    # T3 and T2 tie on 2 streams: T3's 3 minutes beat T2's 2. T5 (10 s) never streamed.
    assert stories["tracks"] == {
        "eligible": True,
        "reason": None,
        "distinct": 4,
        "items": [track(1, "T1", 3, 3.0), track(2, "T3", 2, 3.0)],
        "list": [track(1, "T1", 3, 3.0), track(2, "T3", 2, 3.0), track(3, "T2", 2, 2.0)],
        # The November 2024 play lies before the period: the first play ever.
        "number_one_first_played": date(2024, 11, 20),
    }
    one = stories["one"]
    assert (one["eligible"], one["reason"], one["distinct"]) == (
        False,
        "fewer than 3 distinct tracks with a qualified stream (1)",
        1,
    )
    assert [i["name"] for i in one["items"]] == ["track-of-Solo"]
    assert one["number_one_first_played"] == date(2025, 3, 3)
    assert stories["pod"] == {
        "eligible": False,
        "reason": "no music played in the period",
        "distinct": 0,
        "items": [],
        "list": [],
        "number_one_first_played": None,
    }


def test_number_one_fan_buckets_the_share_of_listeners_with_at_least_as_many_minutes(
    inputs: StoryInputs,
) -> None:
    stories = stories_by_user(tops.top_artists(inputs), "top_artists")
    fans = {user: story["number_one_fan"] for user, story in stories.items()}

    def star(top_percent: float | None) -> dict[str, Any]:
        return {
            "artist_key": "key-Star",
            "name": "Star",
            "top_percent": top_percent,
            "listeners": 4,
        }

    # Star has 4 listeners (>= min_population 3). fan1 (5 min): 3 listeners have fewer, so fan1 is
    # in the top 1/4 = 25 %, within the 30 % bucket (not 20). fan2 (4 min): 2 fewer, top 50 %,
    # within 50. fan3 and fan4 tie on 2 min: none fewer, top 100 %, outside every bucket.
    assert fans["fan1"] == star(30.0)
    assert fans["fan2"] == star(50.0)
    assert fans["fan3"] == star(None)
    assert fans["fan4"] == star(None)
    # Rare has 2 listeners (rare, fan2), below min_population: no percentile, no count.
    assert fans["rare"] == {
        "artist_key": "key-Rare",
        "name": "Rare",
        "top_percent": None,
        "listeners": None,
    }
    assert stories["fan2"]["reason"] == "fewer than 5 distinct artists with a qualified stream (2)"
    assert stories["pod"]["number_one_fan"] is None
    assert stories["pod"]["reason"] == "no music played in the period"


def test_top_albums_count_only_albums_played_widely_enough(inputs: StoryInputs) -> None:
    stories = stories_by_user(tops.top_albums(inputs), "top_albums")

    # Half has the most streams (4) but only 2 of its 4 tracks were played: not counted.
    assert stories["albums"] == {
        "eligible": True,
        "reason": None,
        "items": [
            {
                "rank": 1,
                "name": "Full",
                "artist": "Folk",
                "album_key": "album-Full",
                "streams": 3,
                "minutes": 3.0,
                "tracks_played": 3,
                "album_tracks": 3,
            },
            {
                "rank": 2,
                "name": "Loose",
                "artist": "Lou",
                "album_key": "album-Loose",
                "streams": 1,
                "minutes": 1.0,
                "tracks_played": 1,
                "album_tracks": None,
            },
        ],
    }
    assert stories["halfonly"] == {
        "eligible": False,
        "reason": "no album with at least 70 % of its tracks played (best 25 %)",
        "items": [],
    }
    assert stories["fan1"]["reason"] == "no qualified stream of a track with a known album"


def test_top_genres_split_each_stream_over_its_genres(inputs: StoryInputs) -> None:
    stories = stories_by_user(tops.top_genres(inputs), "top_genres")

    # G1 twice: rock 2 * 1/2, pop 2 * 1/2; G2: rock 1; G3: jazz 1 (its artist's genre); G5 none.
    # rock 2, pop 1, jazz 1 of 4. pop and jazz tie on streams and minutes (1 each): jazz was
    # played first.
    assert stories["genres"] == {
        "eligible": True,
        "reason": None,
        "distinct": 3,
        "items": [
            {"rank": 1, "genre": "rock", "streams": 2.0, "share": 0.5},
            {"rank": 2, "genre": "jazz", "streams": 1.0, "share": 0.25},
        ],
    }
    assert stories["fan1"] == {
        "eligible": False,
        "reason": "the catalog gives no genres for the streamed tracks",
        "distinct": 0,
        "items": [],
    }
    assert stories["pod"]["reason"] == "no music played in the period"


def test_top_podcasts_rank_shows_by_minutes_with_the_first_play_breaking_ties(
    inputs: StoryInputs,
) -> None:
    stories = stories_by_user(tops.top_podcasts(inputs), "top_podcasts")

    # News 45 min, Talk 30 + 15 = 45 min (News played first), Tiny 10 s = 0.1667 min.
    # Podcast minutes 90.1667; News's share 45 / 90.1667 = 0.49908.
    assert stories["pod"] == {
        "eligible": True,
        "reason": None,
        "minutes": 90.167,
        "items": [
            {"rank": 1, "name": "News", "show_key": "show-News", "minutes": 45.0, "plays": 1},
            {"rank": 2, "name": "Talk", "show_key": "show-Talk", "minutes": 45.0, "plays": 2},
        ],
        "number_one_share": 0.4991,
    }
    assert stories["fan1"] == {
        "eligible": False,
        "reason": "no podcast played in the period",
        "minutes": 0.0,
        "items": [],
        "number_one_share": None,
    }
