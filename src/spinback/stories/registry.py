"""Every story the engine computes, in the order documents and HTML pages show them.

Each entry names the story's id (its column in gold.stories and its field in the JSON document)
and the builder, a pure function ``StoryInputs -> DataFrame`` of ``user_id`` and that column.
docs/stories.md documents each story's fields and eligibility rule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import DataFrame

from spinback.stories import (
    behaviour,
    clock,
    comparisons,
    days,
    discovery,
    evolution,
    mainstream,
    milestones,
    personality,
    playlist,
    timeline,
    tops,
    volume,
)
from spinback.stories.inputs import StoryInputs


@dataclass(frozen=True)
class Story:
    id: str
    build: Callable[[StoryInputs], DataFrame]


STORIES: tuple[Story, ...] = (
    Story("minutes", volume.minutes),
    Story("top_tracks", tops.top_tracks),
    Story("top_artists", tops.top_artists),
    Story("top_albums", tops.top_albums),
    Story("top_genres", tops.top_genres),
    Story("top_podcasts", tops.top_podcasts),
    Story("days", days.days),
    Story("artist_streak", days.artist_streak),
    Story("clock", clock.clock),
    Story("audio_day", clock.audio_day),
    Story("timeline", timeline.timeline),
    Story("discovery", discovery.discovery),
    Story("behaviour", behaviour.behaviour),
    Story("mainstream", mainstream.mainstream),
    Story("evolution", evolution.evolution),
    Story("personality", personality.personality),
    Story("playlist", playlist.playlist),
    Story("year_over_year", comparisons.year_over_year),
    Story("milestones", milestones.milestones),
)
