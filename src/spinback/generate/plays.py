"""Synthetic plays: users -> listening days -> sessions -> plays -> a timeline in local time -> UTC.

Every step is a narrow DataFrame operation on rows exploded from the users frame, one window per
user to lay the plays end to end, and broadcast joins of small tables (track and episode lengths,
the users, zone offsets, track names). Nothing is collected, nothing is shuffled and no Python runs
per row, so the work grows linearly with the number of plays.

What makes the data look like listening:

* popularity: artists, tracks within an artist, and shows follow power laws (``power_law_index``);
* taste: a share of each user's music comes from ten favourite artists of their own;
* activity: a log-normal multiplier per user and per day, and a share of days with any listening;
* rhythm: sessions start at hours drawn from a weekday or a weekend profile of local time;
* sessions: plays follow each other by their played length plus a short gap, and a session that
  would overlap the one before waits for it to end;
* behaviour: early skips, later skips, stops and complete plays, with per-user skip tendency.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from spinback.config import GenerateConfig
from spinback.generate.catalog import (
    EPISODES_PER_SHOW,
    first_track_index,
    keyed,
    named,
    track_count,
)
from spinback.generate.sampling import (
    log_normal_around_one,
    pick_by_weight,
    pick_from,
    power_law_index,
    row_key,
    scattered_number,
    uniform,
)
from spinback.generate.users import (
    ACTIVE_SHARE_RANGE,
    LATE_JOIN_FIRST_DAY,
    LATE_JOIN_LAST_DAYS_LEFT,
    PLATFORM_WEIGHTS,
    PLATFORMS,
    build_zone_offsets,
)
from spinback.generate.year import DAY_MS, HOUR_MS, GeneratedYear

# How many plays a day brings, relative to the user's average, by Spark's dayofweek (1 = Sunday).
PLAYS_BY_WEEKDAY = (1.10, 0.93, 0.95, 0.95, 0.97, 1.05, 1.15)
# Spread of the day-to-day log-normal variation in the number of plays.
DAY_VOLUME_SIGMA = 0.6

# Relative chance that a session starts in each local hour, 0 to 23. Weekdays have a morning
# commute and an evening peak; weekends start late and stay high through the afternoon. Both are
# near zero between 3 and 5 am.
WEEKDAY_SESSION_HOURS = (
    1.2, 0.6, 0.3, 0.12, 0.12, 0.4, 1.5, 3.5, 4.5, 3.2, 2.6, 2.7,
    3.2, 3.0, 2.8, 3.0, 3.6, 4.5, 4.8, 4.6, 4.6, 4.0, 3.0, 2.0,
)  # fmt: skip
WEEKEND_SESSION_HOURS = (
    2.0, 1.2, 0.6, 0.2, 0.12, 0.15, 0.4, 0.8, 1.5, 2.5, 3.5, 4.0,
    4.0, 3.8, 3.6, 3.6, 3.8, 4.0, 4.2, 4.2, 4.4, 4.2, 3.6, 2.8,
)  # fmt: skip

# Each user's own favourite artists, and the podcast shows they follow.
FAVOURITE_ARTISTS = 10
FOLLOWED_SHOWS = 3
# Favourites are drawn from a flatter law than chart plays, so personal taste reaches the long tail.
FAVOURITE_FLATTENING = 0.8
# Within an artist's catalog the law is steeper than between artists: a few hits carry an artist.
HIT_STEEPNESS = 0.5
# Mean number of weeks a podcast listener lags behind the newest episode.
EPISODE_MEAN_LAG_WEEKS = 1.5

# How plays end. A play is first skipped or not: music at MUSIC_SKIP times the user's skip tendency
# (mean 1), podcasts at PODCAST_SKIP. A skip happens before any sound (zero), within 30 seconds
# (early) or later (late), in these proportions. With them about 19 % of music plays end before
# 30 seconds. A play that is not skipped may be stopped part-way, most often the last of a session.
SKIP_KINDS = ("zero", "early", "late")
MUSIC_SKIP = 0.25
MUSIC_SKIP_KIND_WEIGHTS = (0.12, 0.64, 0.24)
PODCAST_SKIP = 0.08
PODCAST_SKIP_KIND_WEIGHTS = (0.125, 0.875, 0.0)
MUSIC_STOP = 0.01
LAST_PLAY_STOP = 0.25
PODCAST_STOP = 0.5
SKIP_LIMIT_MS = 30_000
MIN_PAUSE_MS = 500

SESSION_OPENERS = ("clickrow", "playbtn", "appload")
SESSION_OPENER_WEIGHTS = (45, 30, 25)
# Reasons a play ended that make the next one start "for the same reason".
CONTINUING_ENDS = ("trackdone", "fwdbtn", "backbtn")

OFFLINE_SHARE = 0.06
INCOGNITO_SHARE = 0.01
# Share of sessions on a device other than the user's usual one.
OTHER_DEVICE_SHARE = 0.15


def expected_plays(config: GenerateConfig) -> float:
    """Roughly how many plays ``config`` yields, from the same rates the generator uses.

    Good to a few per cent; it sizes partitions and benchmarks, and is never a guarantee.
    """
    year = GeneratedYear.of(config.year)
    late_join_days = year.days - LATE_JOIN_LAST_DAYS_LEFT - LATE_JOIN_FIRST_DAY
    mean_days_missed = config.late_joiner_share * (LATE_JOIN_FIRST_DAY + late_join_days / 2)
    mean_active_share = sum(ACTIVE_SHARE_RANGE) / 2
    mean_weekday_factor = sum(PLAYS_BY_WEEKDAY) / len(PLAYS_BY_WEEKDAY)
    days_open = year.days - mean_days_missed
    per_user = days_open * mean_active_share * config.plays_per_active_day * mean_weekday_factor
    return config.users * per_user


def build_plays(
    users: DataFrame,
    tracks: DataFrame,
    episodes: DataFrame,
    config: GenerateConfig,
    year: GeneratedYear,
) -> DataFrame:
    """The plays of ``users`` over the year, with the columns of ``schema.GENERATED_PLAYS``.

    ``users`` comes from ``build_users``, ``tracks`` and ``episodes`` from the catalog module; the
    result keeps the partitioning of ``users``.
    """
    days = _listening_days(users, config, year)
    sessions = _sessions(days, config)
    plays = _plays(sessions, config)
    played = _play_outcomes(_with_durations(plays, tracks, episodes), config)
    timed = _on_timeline(played, config)
    return _export_rows(timed, users, tracks, config, year)


def _listening_days(users: DataFrame, config: GenerateConfig, year: GeneratedYear) -> DataFrame:
    """One row per user and local day with any listening, with that day's number of plays."""
    seed = config.seed
    user = F.col("user_index")
    day = F.col("day_index")

    weekday = F.dayofweek(F.date_add(F.lit(year.first_date), day))
    weekday_factor = F.element_at(F.array(*[F.lit(f) for f in PLAYS_BY_WEEKDAY]), weekday)
    day_volume = log_normal_around_one(DAY_VOLUME_SIGMA, seed, "day-volume", user, day)
    plays_today = F.greatest(
        F.lit(1),
        F.round(config.plays_per_active_day * F.col("activity") * weekday_factor * day_volume),
    ).cast("int")

    return (
        users.withColumn("day_index", F.explode(F.sequence("first_day", F.lit(year.days - 1))))
        .where(uniform(seed, "active-day", user, day) < F.col("active_share"))
        .withColumns({"weekday": weekday, "plays_today": plays_today})
        .withColumn("session_count", F.ceil(F.col("plays_today") / F.col("session_length")))
    )


def _sessions(days: DataFrame, config: GenerateConfig) -> DataFrame:
    """Split each day's plays into sessions; give each a local start time and its device settings.

    Session ``s`` of ``S`` gets plays ``floor(N (s + 1) / S) - floor(N s / S)``: sizes differ by at
    most one and add up to the day's ``N``.
    """
    seed = config.seed

    def draw(purpose: str) -> Column:
        return uniform(seed, purpose, F.col("session_key"))

    plays_today = F.col("plays_today")
    session_count = F.col("session_count")
    session = F.col("session_index")
    session_plays = F.floor(plays_today * (session + 1) / session_count) - F.floor(
        plays_today * session / session_count
    )

    weekend = F.col("weekday").isin(1, 7)
    start_hour = F.when(
        weekend, pick_by_weight(draw("start-hour"), WEEKEND_SESSION_HOURS)
    ).otherwise(pick_by_weight(draw("start-hour"), WEEKDAY_SESSION_HOURS))
    start_ms = (
        F.col("day_index").cast("long") * DAY_MS
        + start_hour * HOUR_MS
        + F.floor(HOUR_MS * draw("start-within-hour"))
    )
    other_device = pick_from(draw("other-device"), PLATFORMS, PLATFORM_WEIGHTS)

    return (
        days.withColumn("session_index", F.explode(F.sequence(F.lit(0), session_count - 1)))
        .withColumn("session_key", row_key(F.col("user_index"), F.col("day_index"), session))
        .withColumns(
            {
                "session_plays": session_plays,
                "session_start_ms": start_ms.cast("long"),
                "shuffle": draw("shuffle") < F.col("shuffle_tendency"),
                "offline": draw("offline") < OFFLINE_SHARE,
                "incognito_mode": draw("incognito") < INCOGNITO_SHARE,
                "platform": F.when(draw("device") < OTHER_DEVICE_SHARE, other_device).otherwise(
                    F.col("platform")
                ),
            }
        )
    )


def _plays(sessions: DataFrame, config: GenerateConfig) -> DataFrame:
    """One row per play and what it plays: an artist's track, or an episode of a followed show."""
    seed = config.seed
    exponent = config.popularity_exponent
    user = F.col("user_index")

    def draw(purpose: str) -> Column:
        return uniform(seed, purpose, F.col("play_key"))

    plays = (
        sessions.withColumn(
            "play_in_session",
            F.explode(F.sequence(F.lit(0), F.col("session_plays").cast("int") - 1)),
        )
        .withColumn("play_key", row_key(F.col("session_key"), F.col("play_in_session")))
        .withColumn("is_podcast", draw("podcast") < F.col("podcast_affinity"))
    )

    # Music: an artist (a favourite, or anyone by popularity), then one of the artist's tracks.
    favourite_slot = power_law_index(draw("favourite-slot"), FAVOURITE_ARTISTS, 1.0)
    favourite_artist = power_law_index(
        uniform(seed, "favourite-artist", user, favourite_slot),
        config.artists,
        exponent * FAVOURITE_FLATTENING,
    )
    any_artist = power_law_index(draw("artist"), config.artists, exponent)
    artist = F.col("artist_index")
    track_in_artist = power_law_index(
        draw("track"), F.col("artist_track_count"), exponent + HIT_STEEPNESS
    )

    # Podcasts: one of the shows the user follows, mostly a recent weekly episode.
    show_slot = power_law_index(draw("show-slot"), FOLLOWED_SHOWS, 1.0)
    followed_show = power_law_index(
        uniform(seed, "followed-show", user, show_slot), config.shows, exponent
    )
    weeks_behind = F.floor(-F.log(draw("episode-lag")) * EPISODE_MEAN_LAG_WEEKS)
    episode_in_show = F.greatest(F.floor(F.col("day_index") / 7) - weeks_behind, F.lit(0))

    chosen_artist = F.when(
        draw("from-favourites") < F.col("favourite_share"), favourite_artist
    ).otherwise(any_artist)
    podcast = F.col("is_podcast")
    return (
        plays.withColumn("artist_index", chosen_artist)
        .withColumns(
            {
                "artist_first_track": first_track_index(artist, config),
                "artist_track_count": track_count(artist, config),
                "show_index": F.when(podcast, followed_show),
                "episode_in_show": F.when(podcast, episode_in_show.cast("long")),
            }
        )
        .withColumns(
            {
                "track_index": F.when(~podcast, F.col("artist_first_track") + track_in_artist),
                "episode_index": F.col("show_index") * EPISODES_PER_SHOW + F.col("episode_in_show"),
            }
        )
    )


def _with_durations(plays: DataFrame, tracks: DataFrame, episodes: DataFrame) -> DataFrame:
    """Look up the length of the chosen track or episode in the (broadcast) catalog."""
    track_lengths = tracks.select("track_index", F.col("duration_ms").alias("track_ms"))
    episode_lengths = episodes.select("episode_index", F.col("duration_ms").alias("episode_ms"))
    return (
        plays.join(F.broadcast(track_lengths), on="track_index", how="left")
        .join(F.broadcast(episode_lengths), on="episode_index", how="left")
        .withColumn("duration_ms", F.coalesce("track_ms", "episode_ms"))
    )


def _play_outcomes(plays: DataFrame, config: GenerateConfig) -> DataFrame:
    """How each play ended (``outcome``), how long it played, and the pause after it.

    Outcomes: ``zero`` (skipped before a sound), ``early`` (skipped within 30 s), ``late`` (skipped
    after 30 s), ``stop`` (the listener stopped or closed the app) and ``complete``.
    """
    seed = config.seed

    def draw(purpose: str) -> Column:
        return uniform(seed, purpose, F.col("play_key"))

    podcast = F.col("is_podcast")
    skip_chance = F.when(podcast, PODCAST_SKIP).otherwise(MUSIC_SKIP * F.col("skip_tendency"))
    skip_kind = F.when(
        podcast, pick_from(draw("skip-kind"), SKIP_KINDS, PODCAST_SKIP_KIND_WEIGHTS)
    ).otherwise(pick_from(draw("skip-kind"), SKIP_KINDS, MUSIC_SKIP_KIND_WEIGHTS))
    last_in_session = F.col("play_in_session") == F.col("session_plays") - 1
    stop_chance = (
        F.when(podcast, PODCAST_STOP).when(last_in_session, LAST_PLAY_STOP).otherwise(MUSIC_STOP)
    )
    outcome = (
        F.when(draw("skip") < skip_chance, skip_kind)
        .when(draw("stop") < stop_chance, "stop")
        .otherwise("complete")
    )

    duration = F.col("duration_ms")
    part = draw("played-part")
    ms_played = (
        F.when(F.col("outcome") == "zero", F.lit(0))
        .when(F.col("outcome") == "early", 1000 + F.floor(part * (SKIP_LIMIT_MS - 1000)))
        .when(
            F.col("outcome") == "late",
            SKIP_LIMIT_MS + F.floor(part * (duration - SKIP_LIMIT_MS)),
        )
        .when(F.col("outcome") == "stop", F.floor((0.1 + 0.9 * part) * duration))
        .otherwise(duration)
    )
    # A stop leaves a pause of up to 20 minutes before the session goes on; otherwise the next
    # play starts half a second to 3 seconds later. Never 0, so a user's plays never share an end.
    pause_ms = MIN_PAUSE_MS + F.floor(
        draw("pause") * F.when(F.col("outcome") == "stop", 20 * 60_000).otherwise(2500)
    )

    return plays.withColumn("outcome", outcome).withColumns(
        {"ms_played": ms_played.cast("long"), "pause_ms": pause_ms.cast("long")}
    )


def _reason_end(outcome: Column, play_key: Column, seed: int) -> Column:
    """Why a play ended: the button that skipped it, how it was stopped, or ``trackdone``.

    It depends on the play's outcome and key alone, so the next play can work it out for itself.
    """
    skip_button = F.when(uniform(seed, "skip-button", play_key) < 0.88, "fwdbtn").otherwise(
        "backbtn"
    )
    stop_kind = F.when(uniform(seed, "stop-kind", play_key) < 0.75, "endplay").otherwise("logout")
    return (
        F.when(outcome.isin(*SKIP_KINDS), skip_button)
        .when(outcome == "stop", stop_kind)
        .otherwise("trackdone")
    )


def _on_timeline(plays: DataFrame, config: GenerateConfig) -> DataFrame:
    """Lay each user's plays end to end in local time: ``started_ms`` since local New Year.

    Within a session each play starts when the one before ended plus its pause. A session starts at
    its drawn time, or when the previous session ended if that is later. With ``before`` the
    listening (plays and pauses) ahead of a play in the user's year, a session starts at
    ``before + max(drawn - before)`` over the sessions so far: a running sum and a running max,
    which one window computes in a single sort. The window is partitioned by user and the plays are
    already split by user, so there is no shuffle.

    Sorting costs by the byte, so only the columns needed from here on go through it; the user's
    own columns are joined back afterwards.
    """
    plays = plays.select(
        "user_index",
        "session_index",
        "session_start_ms",
        "play_in_session",
        "play_key",
        "shuffle",
        "offline",
        "incognito_mode",
        "platform",
        "is_podcast",
        "track_index",
        "show_index",
        "episode_in_show",
        "outcome",
        "ms_played",
        "pause_ms",
    )
    in_order = Window.partitionBy("user_index").orderBy(
        "session_start_ms", "session_index", "play_in_session"
    )
    earlier = in_order.rowsBetween(Window.unboundedPreceding, -1)
    so_far = in_order.rowsBetween(Window.unboundedPreceding, Window.currentRow)

    first_in_session = F.col("play_in_session") == 0
    before = F.coalesce(F.sum(F.col("ms_played") + F.col("pause_ms")).over(earlier), F.lit(0))
    lead = F.when(first_in_session, F.col("session_start_ms") - F.col("listened_before_ms"))

    previous_end = _reason_end(
        F.lag("outcome").over(in_order), F.lag("play_key").over(in_order), config.seed
    )
    opener = pick_from(
        uniform(config.seed, "reason-start", F.col("play_key")),
        SESSION_OPENERS,
        SESSION_OPENER_WEIGHTS,
    )
    reason_start = F.when(
        first_in_session | ~previous_end.isin(*CONTINUING_ENDS), opener
    ).otherwise(previous_end)

    return (
        plays.withColumn("listened_before_ms", before.cast("long"))
        .withColumn("started_ms", F.col("listened_before_ms") + F.max(lead).over(so_far))
        .withColumns(
            {
                "reason_start": reason_start,
                "reason_end": _reason_end(F.col("outcome"), F.col("play_key"), config.seed),
                # Skips end with fwdbtn or backbtn, which is what the export's flag means.
                "skipped": F.col("outcome").isin(*SKIP_KINDS),
            }
        )
    )


def _export_rows(
    timed: DataFrame,
    users: DataFrame,
    tracks: DataFrame,
    config: GenerateConfig,
    year: GeneratedYear,
) -> DataFrame:
    """Local times -> UTC, keep plays inside the year and after joining, add user and track names.

    A play is kept when it starts and ends within the year in the user's local time, and starts at
    or after ``joined_at``. ``ts`` is when playback ended, as in the export this imitates.
    """
    user_columns = users.select("user_index", "user_name", "zone_index", "country", "joined_at")
    zone_offsets = build_zone_offsets(users.sparkSession, year)
    track_names = tracks.select(
        "track_index",
        "track_key",
        "track_name",
        "artist_key",
        "artist_name",
        "featured_artists",
        "album_key",
        "album_name",
    )

    local_hour = F.floor(F.col("started_ms") / HOUR_MS)
    started_utc_ms = year.start_wall_clock_ms + F.col("started_ms") - F.col("utc_offset_ms")
    ended_at = F.timestamp_millis(F.col("started_utc_ms") + F.col("ms_played"))

    podcast = F.col("is_podcast")
    show_number = scattered_number(F.col("show_index"), config.shows, config.seed)
    episode_number = (show_number - 1) * EPISODES_PER_SHOW + F.col("episode_in_show") + 1
    episode_name = F.format_string("Show %d, episode %d", show_number, F.col("episode_in_show") + 1)

    return (
        timed.where(F.col("started_ms") + F.col("ms_played") < year.length_ms)
        .join(F.broadcast(user_columns), on="user_index")
        .withColumn("local_hour", local_hour)
        .join(F.broadcast(zone_offsets), on=["zone_index", "local_hour"])
        .withColumn("started_utc_ms", started_utc_ms)
        .where(F.col("started_utc_ms") >= F.unix_millis("joined_at"))
        .join(F.broadcast(track_names), on="track_index", how="left")
        .select(
            "user_name",
            ended_at.alias("ts"),
            "ms_played",
            F.when(podcast, "podcast").otherwise("music").alias("content_type"),
            "track_key",
            "track_name",
            "artist_key",
            "artist_name",
            "featured_artists",
            "album_key",
            "album_name",
            F.when(podcast, keyed("show", show_number)).alias("show_key"),
            F.when(podcast, named("Show", show_number)).alias("show_name"),
            F.when(podcast, keyed("episode", episode_number)).alias("episode_key"),
            F.when(podcast, episode_name).alias("episode_name"),
            "reason_start",
            "reason_end",
            "shuffle",
            "skipped",
            "offline",
            "incognito_mode",
            "platform",
            F.col("country").alias("conn_country"),
        )
    )
