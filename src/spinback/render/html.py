"""One self-contained HTML page per user and period, drawn from that user's JSON document.

The page needs nothing but itself: the styles are inline, every chart is an inline SVG, there are
no scripts, fonts or images, and a Content-Security-Policy forbids the browser to fetch anything,
so the file opens offline, from a mail attachment or a phone's downloads. It is laid out as one
column about 420 pixels wide, readable on a phone and centred on a larger screen.

Each eligible story gets a card, in the order of the document's fields (which ``story_documents``
takes from the story registry); the ineligible ones are listed at the end with their reason. Every
piece of text from the document goes through ``html.escape``: names come from users' exports.

The renderers read the document defensively (a missing field or a null is drawn as a dash, never
an error) because story shapes evolve; a story with no renderer of its own, or one whose shape a
renderer cannot read, is shown as a plain list of its fields.
"""

from __future__ import annotations

import html
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, NamedTuple

logger = logging.getLogger(__name__)

# The width of every chart in SVG user units; the SVG scales to the card's width.
CHART_WIDTH = 360
PALETTE_SIZE = 6
EN_DASH = "\u2013"
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# Roughly the width of one character of a chart's small text, in SVG units: room for values.
SMALL_CHARACTER_WIDTH = 6.0
FIELDS_OUTSIDE_STORIES = ("schema_version", "user", "period", "timezone")

TITLES = {
    "minutes": "Minutes listened",
    "top_tracks": "Top songs",
    "top_artists": "Top artists",
    "top_albums": "Top albums",
    "top_genres": "Top genres",
    "top_podcasts": "Top podcasts",
    "days": "Your days",
    "artist_streak": "Longest artist streak",
    "clock": "When you listened",
    "audio_day": "Your audio day",
    "timeline": "Month by month",
    "discovery": "Discoveries",
    "behaviour": "How you listened",
    "mainstream": "Mainstream score",
    "evolution": "How your taste moved",
    "personality": "Listening personality",
    "playlist": "Your top songs playlist",
    "year_over_year": "Compared with last year",
    "milestones": "Milestones",
    "discover": "Songs to discover",
    "rediscover": "Songs to rediscover",
    "taste_twins": "Taste twins",
    "similar_artists": "Artists like yours",
}

AXES = {
    "new_artist_share": "New artists",
    "track_concentration": "Concentration",
    "music_age": "Age of the music",
    "mainstream_score": "Mainstream",
}

STYLE = """
:root { --bg: #14161a; --card: #1f232b; --text: #f2f3f5; --muted: #a3a9b5; --track: #2c313b;
  --c1: #4cc38a; --c2: #5b8def; --c3: #f2a541; --c4: #e4606d; --c5: #b07cf2; --c6: #3cc6d8; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text);
  font: 16px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
main { max-width: 420px; margin: 0 auto; padding: 16px 12px 32px; }
header h1 { font-size: 1.7rem; line-height: 1.15; margin: 8px 0 4px; }
header p, footer { color: var(--muted); font-size: 0.875rem; margin: 0; }
.card { background: var(--card); border-radius: 16px; padding: 16px; margin: 14px 0; }
.card h2 { font-size: 1.1rem; margin: 0 0 8px; }
.card p { margin: 6px 0; }
.big { font-size: 2.4rem; font-weight: 700; line-height: 1.1; margin: 4px 0; }
.big small { font-size: 1rem; font-weight: 400; color: var(--muted); }
.muted { color: var(--muted); font-size: 0.875rem; }
svg { display: block; width: 100%; height: auto; margin: 10px 0 4px; overflow: visible; }
svg text { fill: var(--text); font-size: 12px; font-family: inherit; }
svg text.dim { fill: var(--muted); font-size: 10px; }
svg .track { fill: var(--track); }
svg .heat { fill: var(--c1); }
svg .line { fill: none; stroke-width: 2.5; stroke-linejoin: round; }
.c1 { fill: var(--c1); stroke: var(--c1); } .c2 { fill: var(--c2); stroke: var(--c2); }
.c3 { fill: var(--c3); stroke: var(--c3); } .c4 { fill: var(--c4); stroke: var(--c4); }
.c5 { fill: var(--c5); stroke: var(--c5); } .c6 { fill: var(--c6); stroke: var(--c6); }
.legend { list-style: none; padding: 0; margin: 4px 0; font-size: 0.875rem; }
.legend li { display: inline-block; margin: 2px 12px 2px 0; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 3px;
  margin-right: 5px; }
.swatch.c1 { background: var(--c1); } .swatch.c2 { background: var(--c2); }
.swatch.c3 { background: var(--c3); } .swatch.c4 { background: var(--c4); }
.swatch.c5 { background: var(--c5); } .swatch.c6 { background: var(--c6); }
ol, ul { padding-left: 1.4em; margin: 6px 0; }
li { margin: 2px 0; overflow-wrap: anywhere; }
details summary { cursor: pointer; color: var(--muted); margin-top: 8px; }
dl { display: grid; grid-template-columns: auto 1fr; gap: 2px 12px; margin: 6px 0; }
dt { color: var(--muted); } dd { margin: 0; overflow-wrap: anywhere; }
.letters { font-size: 3rem; font-weight: 800; letter-spacing: 0.15em; margin: 0; }
.skipped { color: var(--muted); font-size: 0.875rem; margin: 20px 4px; }
.skipped h2 { font-size: 1rem; margin: 0 0 4px; }
"""

# No network, no scripts: the page may only use its own inline styles and data: URLs.
CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


@dataclass(frozen=True)
class PageContext:
    """What every card may need besides its own story: the period, for date axes."""

    start: date | None
    end: date | None  # exclusive

    @property
    def last_day(self) -> date | None:
        return self.end - timedelta(days=1) if self.end else None


class Bar(NamedTuple):
    label: str
    value: float
    value_text: str


Renderer = Callable[[Mapping[str, Any], PageContext], str]


def story_page(document: Mapping[str, Any]) -> str:
    """The HTML page of one document: a card per eligible story, then the ineligible ones."""
    period = _mapping(document.get("period"))
    context = PageContext(_parse_date(period.get("start")), _parse_date(period.get("end")))
    stories = [
        (story_id, story)
        for story_id, story in document.items()
        if story_id not in FIELDS_OUTSIDE_STORIES and isinstance(story, Mapping)
    ]
    cards = [
        _card(story_id, story, context) for story_id, story in stories if story.get("eligible")
    ]
    skipped = [(story_id, story) for story_id, story in stories if not story.get("eligible")]

    label = _text(period.get("label"), "")
    user = _text(document.get("user"))
    days = (
        f"{_day(context.start)} {EN_DASH} {_day(context.last_day)}"
        if context.start and context.last_day
        else ""
    )
    return "\n".join(
        [
            "<!doctype html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">',
            '<meta name="color-scheme" content="dark">',
            '<link rel="icon" href="data:,">',
            f"<title>Spinback {label} · {user}</title>",
            f"<style>{STYLE}</style>",
            "</head>",
            "<body>",
            "<main>",
            "<header>",
            f"<p>Spinback · {user}</p>",
            f"<h1>Your {label} in sound</h1>" if label else "<h1>Your listening</h1>",
            f"<p>{days} · times in {_text(document.get('timezone'))}</p>",
            "</header>",
            *cards,
            _skipped(skipped),
            f"<footer>Document schema {_text(document.get('schema_version'))}</footer>",
            "</main>",
            "</body>",
            "</html>",
            "",
        ]
    )


def _card(story_id: str, story: Mapping[str, Any], context: PageContext) -> str:
    render = RENDERERS.get(story_id, _generic)
    try:
        body = render(story, context)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):
        # A story whose shape changed under its renderer is still shown, as a list of fields.
        logger.warning("story %s does not have the shape its renderer expects", story_id)
        body = _generic(story, context)
    return (
        f'<section class="card" id="story-{_escape(story_id)}">'
        f"<h2>{_title(story_id)}</h2>{body}</section>"
    )


def _skipped(stories: Sequence[tuple[str, Mapping[str, Any]]]) -> str:
    if not stories:
        return ""
    items = "".join(
        f"<li><strong>{_title(story_id)}</strong>: {_text(story.get('reason'), 'not available')}"
        "</li>"
        for story_id, story in stories
    )
    return f'<section class="skipped"><h2>Not shown this time</h2><ul>{items}</ul></section>'


# Cards, one function per story.


def _minutes(story: Mapping[str, Any], context: PageContext) -> str:
    parts = [
        ("Music", story.get("music")),
        ("Podcasts", story.get("podcast")),
        ("Audiobooks", story.get("audiobook")),
        ("Video", story.get("video")),
    ]
    shown = [(name, _number_or_zero(value)) for name, value in parts if _number_or_zero(value) > 0]
    lines = [f'<p class="big">{_number(story.get("total"))} <small>minutes</small></p>']
    if shown:
        lines.append(_stacked_bar(shown, "minutes by kind of audio"))
        lines.append(_legend([f"{name} {_number(value)}" for name, value in shown]))
    if story.get("more_than_percent") is not None:
        lines.append(f"<p>More than {_number(story['more_than_percent'], 1)} % of listeners.</p>")
    if _number_or_zero(story.get("estimated_plays")) > 0:
        lines.append(
            f'<p class="muted">{_number(story["estimated_plays"])} plays had no duration; '
            "their length is estimated.</p>"
        )
    return "".join(lines)


def _top_tracks(story: Mapping[str, Any], context: PageContext) -> str:
    items = _records(story.get("items"))
    lines = [f"<p>{_number(story.get('distinct'))} different songs with a full stream.</p>"]
    lines.append(
        _bar_chart(
            [
                Bar(
                    _ranked_label(item, "name", "artist"),
                    _number_or_zero(item.get("streams")),
                    f"{_number(item.get('streams'))} streams",
                )
                for item in items
            ],
            "top songs by streams",
        )
    )
    if story.get("number_one_first_played"):
        first = _day(_parse_date(story["number_one_first_played"]))
        lines.append(f"<p>You first played your number one on {first}.</p>")
    full_list = _records(story.get("list"))
    if len(full_list) > len(items):
        entries = "".join(
            f"<li>{_text(item.get('name'))} <span class='muted'>{_text(item.get('artist'))}"
            f" · {_number(item.get('streams'))}</span></li>"
            for item in full_list
        )
        lines.append(
            f"<details><summary>Your top {len(full_list)}</summary><ol>{entries}</ol></details>"
        )
    return "".join(lines)


def _top_artists(story: Mapping[str, Any], context: PageContext) -> str:
    items = _records(story.get("items"))
    lines = [f"<p>{_number(story.get('distinct'))} different artists.</p>"]
    lines.append(
        _bar_chart(
            [
                Bar(
                    _ranked_label(item, "name"),
                    _number_or_zero(item.get("minutes")),
                    f"{_number(item.get('minutes'))} min · {_number(item.get('streams'))} streams",
                )
                for item in items
            ],
            "top artists by minutes",
        )
    )
    fan = _mapping(story.get("number_one_fan"))
    if fan.get("top_percent") is not None:
        lines.append(
            f"<p>You are in the top {_number(fan['top_percent'], 1)} % of "
            f"{_text(fan.get('name'))}'s listeners.</p>"
        )
    return "".join(lines)


def _top_albums(story: Mapping[str, Any], context: PageContext) -> str:
    bars = []
    for item in _records(story.get("items")):
        played = _number(item.get("tracks_played"))
        size = item.get("album_tracks")
        tracks = f"{played} of {_number(size)} tracks" if size is not None else f"{played} tracks"
        bars.append(
            Bar(
                _ranked_label(item, "name", "artist"),
                _number_or_zero(item.get("streams")),
                f"{_number(item.get('streams'))} streams · {tracks}",
            )
        )
    return _bar_chart(bars, "top albums by streams")


def _top_genres(story: Mapping[str, Any], context: PageContext) -> str:
    items = _records(story.get("items"))
    return f"<p>{_number(story.get('distinct'))} genres.</p>" + _bar_chart(
        [
            Bar(
                _ranked_label(item, "genre"),
                _number_or_zero(item.get("share")),
                _percent(item.get("share")),
            )
            for item in items
        ],
        "top genres by share of streams",
    )


def _top_podcasts(story: Mapping[str, Any], context: PageContext) -> str:
    items = _records(story.get("items"))
    lines = [f'<p class="big">{_number(story.get("minutes"))} <small>podcast minutes</small></p>']
    lines.append(
        _bar_chart(
            [
                Bar(
                    _ranked_label(item, "name"),
                    _number_or_zero(item.get("minutes")),
                    f"{_number(item.get('minutes'))} min · {_number(item.get('plays'))} plays",
                )
                for item in items
            ],
            "top podcasts by minutes",
        )
    )
    if story.get("number_one_share") is not None:
        lines.append(f"<p>Your number one took {_percent(story['number_one_share'])} of it.</p>")
    return "".join(lines)


def _days(story: Mapping[str, Any], context: PageContext) -> str:
    biggest = _mapping(story.get("biggest_day"))
    streak = _mapping(story.get("longest_streak"))
    period_days = (context.end - context.start).days if context.start and context.end else None
    listened = _number(story.get("days_listened"))
    out_of = f" of {period_days}" if period_days else ""
    biggest_day = _parse_date(biggest.get("date"))
    streak_start, streak_end = _parse_date(streak.get("start")), _parse_date(streak.get("end"))
    return "".join(
        [
            f'<p class="big">{listened} <small>days{out_of} with music</small></p>',
            _period_strip(
                context,
                spans=[(streak_start, streak_end, "c2")],
                marks=[(biggest_day, "c3")],
                label="longest streak and biggest day",
            ),
            _legend(
                [
                    f"Longest streak: {_number(streak.get('length'))} days, "
                    f"{_day(streak_start)} {EN_DASH} {_day(streak_end)}",
                    f"Biggest day: {_day(biggest_day)}, {_number(biggest.get('minutes'))} minutes",
                ],
                first_colour=2,
            ),
        ]
    )


def _artist_streak(story: Mapping[str, Any], context: PageContext) -> str:
    start, end = _parse_date(story.get("start")), _parse_date(story.get("end"))
    return "".join(
        [
            f'<p class="big">{_number(story.get("length"))} <small>days in a row</small></p>',
            f"<p>with {_text(story.get('name'))}, {_day(start)} {EN_DASH} {_day(end)}.</p>",
            _period_strip(context, spans=[(start, end, "c5")], marks=[], label="artist streak"),
        ]
    )


def _clock(story: Mapping[str, Any], context: PageContext) -> str:
    rows = [
        [_number_or_zero(value) for value in _sequence(row)]
        for row in _sequence(story.get("heatmap"))
    ]
    largest = max((value for row in rows for value in row), default=0.0)
    left, cell = 32, (CHART_WIDTH - 32) / 24
    shapes = []
    for weekday, row in enumerate(rows[:7]):
        top = weekday * cell
        shapes.append(
            f'<text x="0" y="{top + cell * 0.72:.1f}" class="dim">{WEEKDAYS[weekday][:3]}</text>'
        )
        for hour, value in enumerate(row[:24]):
            opacity = 0.06 + 0.94 * value / largest if largest > 0 else 0.06
            shapes.append(
                f'<rect x="{left + hour * cell:.1f}" y="{top:.1f}" width="{cell - 1.5:.1f}" '
                f'height="{cell - 1.5:.1f}" rx="2" class="heat" fill-opacity="{opacity:.2f}">'
                f"<title>{WEEKDAYS[weekday]} {hour}:00 · {_number(value)} streams</title></rect>"
            )
    bottom = 7 * cell + 12
    for tick in (0, 6, 12, 18):
        shapes.append(
            f'<text x="{left + tick * cell:.1f}" y="{bottom:.1f}" class="dim">{tick}h</text>'
        )
    lines = [_svg(CHART_WIDTH, bottom + 4, "".join(shapes), "streams by weekday and hour")]
    peak_hour, peak_weekday = story.get("peak_hour"), story.get("peak_weekday")
    if isinstance(peak_hour, int) and isinstance(peak_weekday, int) and 1 <= peak_weekday <= 7:
        lines.append(f"<p>Your peak: {WEEKDAYS[peak_weekday - 1]}s around {peak_hour}:00.</p>")
    return "".join(lines)


def _audio_day(story: Mapping[str, Any], context: PageContext) -> str:
    parts = _records(story.get("parts"))
    hour_width = CHART_WIDTH / 24
    shapes = []
    for index, part in enumerate(parts):
        start = _clamp(_number_or_zero(part.get("start_hour")), 0, 24)
        end = _clamp(_number_or_zero(part.get("end_hour")), start, 24)
        left, width = start * hour_width, max(0.0, (end - start) * hour_width - 2)
        shapes.append(
            f'<rect x="{left:.1f}" y="0" width="{width:.1f}" height="22" rx="4" '
            f'class="{_colour(index)}"/>'
            f'<text x="{left + 4:.1f}" y="38" class="dim">{_text(part.get("part"))}</text>'
        )
    entries = "".join(
        f"<li><span class='swatch {_colour(index)}'></span>"
        f"<strong>{_text(part.get('part'))}</strong> <span class='muted'>"
        f"{_number(part.get('start_hour'))}{EN_DASH}{_number(part.get('end_hour'))} h</span>: "
        + (
            f"{_text(part['name'])} <span class='muted'>({_text(part.get('kind'))})</span>"
            if part.get("name") is not None
            else "<span class='muted'>no streams</span>"
        )
        + "</li>"
        for index, part in enumerate(parts)
    )
    return _svg(CHART_WIDTH, 44, "".join(shapes), "parts of the day") + (
        f'<ul class="legend">{entries}</ul>'
    )


def _timeline(story: Mapping[str, Any], context: PageContext) -> str:
    months = _records(story.get("months"))
    lines = [_month_bars(months)]
    top_artists = "".join(
        f"<li>{_month(month.get('month'))}: {_text(_mapping(month.get('top_artist')).get('name'))}"
        "</li>"
        for month in months
        if month.get("top_artist")
    )
    if top_artists:
        lines.append(
            f"<details><summary>Top artist of each month</summary><ul>{top_artists}</ul></details>"
        )
    race = _records(story.get("race"))
    if race:
        lines.append(_race(race, [_month(month.get("month"), short=True) for month in months]))
        lines.append(_legend([_clip(_text_raw(entry.get("name")), 28) for entry in race]))
    peaks = _records(story.get("top_artist_peaks"))
    if peaks:
        lines.append(
            "<p class='muted'>"
            + "; ".join(
                f"{_text(peak.get('name'))} peaked in {_month(peak.get('peak_month'))}"
                for peak in peaks
            )
            + ".</p>"
        )
    return "".join(lines)


def _discovery(story: Mapping[str, Any], context: PageContext) -> str:
    top = _mapping(story.get("top_discovery"))
    share = story.get("share_of_streams")
    lines = [f'<p class="big">{_number(story.get("new_artists"))} <small>new artists</small></p>']
    if share is not None:
        lines.append(
            _share_bars([Bar("Streams of new artists", _number_or_zero(share), _percent(share))])
        )
    if top:
        lines.append(
            f"<p>Your top discovery: {_text(top.get('name'))}, first played "
            f"{_day(_parse_date(top.get('first_played')))}, {_number(top.get('streams'))} streams."
            "</p>"
        )
    if story.get("history_complete") is False:
        lines.append(
            '<p class="muted">Your history starts on '
            f"{_day(_parse_date(story.get('history_starts')))}, inside this period: "
            "some of these artists may not be new to you.</p>"
        )
    return "".join(lines)


def _behaviour(story: Mapping[str, Any], context: PageContext) -> str:
    rates = [
        ("Skipped", story.get("skip_rate")),
        ("Played to the end", story.get("completion_rate")),
        ("On shuffle", story.get("shuffle_share")),
        ("Offline", story.get("offline_share")),
    ]
    known = [
        Bar(name, _number_or_zero(value), _percent(value))
        for name, value in rates
        if value is not None
    ]
    unknown = [name for name, value in rates if value is None]
    lines = [_share_bars(known)] if known else []
    if unknown:
        lines.append(f'<p class="muted">Not recorded: {_escape(", ".join(unknown).lower())}.</p>')
    platforms = _records(story.get("platforms"))
    shown = [
        (_text_raw(platform.get("platform"), "unknown"), _number_or_zero(platform.get("plays")))
        for platform in platforms
    ]
    if any(plays > 0 for _, plays in shown):
        lines.append("<p>Where you listened:</p>")
        lines.append(_stacked_bar(shown, "plays by platform"))
        lines.append(
            _legend(
                [
                    f"{_clip(_text_raw(platform.get('platform'), 'unknown'), 24)} "
                    f"{_percent(platform.get('share'))}"
                    for platform in platforms
                ],
                escaped=False,
            )
        )
    return "".join(lines)


def _mainstream(story: Mapping[str, Any], context: PageContext) -> str:
    score = story.get("score")
    lines = [f'<p class="big">{_number(score, 1)} <small>of 100</small></p>']
    if score is not None:
        marker = _clamp(_number_or_zero(score), 0, 100) / 100 * CHART_WIDTH
        lines.append(
            _svg(
                CHART_WIDTH,
                34,
                f'<rect x="0" y="6" width="{CHART_WIDTH}" height="10" rx="5" class="track"/>'
                f'<rect x="0" y="6" width="{marker:.1f}" height="10" rx="5" class="c6"/>'
                f'<text x="0" y="32" class="dim">niche</text>'
                f'<text x="{CHART_WIDTH}" y="32" class="dim" text-anchor="end">mainstream</text>',
                "mainstream score",
            )
        )
    if story.get("more_adventurous_than_percent") is not None:
        lines.append(
            "<p>More adventurous than "
            f"{_number(story['more_adventurous_than_percent'], 1)} % of listeners.</p>"
        )
    rarest = _mapping(story.get("rarest_listen"))
    if rarest:
        lines.append(
            f"<p>Your rarest listen: {_text(rarest.get('name'))} by {_text(rarest.get('artist'))}, "
            f"shared with {_number(rarest.get('listeners'))} listeners.</p>"
        )
    return "".join(lines)


def _evolution(story: Mapping[str, Any], context: PageContext) -> str:
    phases = _records(story.get("phases"))
    lines = []
    lengths = [
        _months_spanned(phase.get("start_month"), phase.get("end_month")) for phase in phases
    ]
    if phases:
        unit, left, shapes = CHART_WIDTH / sum(lengths), 0.0, []
        for index, (phase, length) in enumerate(zip(phases, lengths, strict=True)):
            shapes.append(
                f'<rect x="{left:.1f}" y="0" width="{max(1.0, length * unit - 3):.1f}" '
                f'height="22" rx="4" class="{_colour(index)}"/>'
                f'<text x="{left + 4:.1f}" y="38" class="dim">'
                f"{_month(phase.get('start_month'), short=True)}{EN_DASH}"
                f"{_month(phase.get('end_month'), short=True)}</text>"
            )
            left += length * unit
        lines.append(_svg(CHART_WIDTH, 44, "".join(shapes), "phases of the period"))
    entries = "".join(
        f"<li><span class='swatch {_colour(index)}'></span>"
        f"<strong>{_text(phase.get('top'))}</strong>"
        f" <span class='muted'>({_text(phase.get('kind'))}), "
        f"{_month(phase.get('start_month'))} {EN_DASH} {_month(phase.get('end_month'))}</span>"
        + (
            f"<br>with {_text(', '.join(map(str, _sequence(phase.get('pivotal_artists')))))}"
            if _sequence(phase.get("pivotal_artists"))
            else ""
        )
        + "</li>"
        for index, phase in enumerate(phases)
    )
    lines.append(f'<ul class="legend">{entries}</ul>')
    return "".join(lines)


def _personality(story: Mapping[str, Any], context: PageContext) -> str:
    rows = []
    for axis in _records(story.get("axes")):
        name = str(axis.get("axis"))
        rows.append(
            f"<dt>{_escape(AXES.get(name, name.replace('_', ' ')))}</dt>"
            f"<dd><strong>{_text(axis.get('letter'))}</strong> · {_decimal(axis.get('value'))} "
            f"<span class='muted'>(median {_decimal(axis.get('population_median'))})</span></dd>"
        )
    return (
        f'<p class="letters">{_text(story.get("letters"))}</p>'
        f"<p>{_text(story.get('name'))}</p><dl>{''.join(rows)}</dl>"
    )


def _playlist(story: Mapping[str, Any], context: PageContext) -> str:
    tracks = _records(story.get("tracks"))

    def entry(track: Mapping[str, Any]) -> str:
        return (
            f"<li>{_text(track.get('name'))} <span class='muted'>{_text(track.get('artist'))}"
            "</span></li>"
        )

    first, rest = tracks[:10], tracks[10:]
    lines = [f"<p>{len(tracks)} songs, ready to play.</p><ol>{''.join(map(entry, first))}</ol>"]
    if rest:
        lines.append(
            f"<details><summary>And {len(rest)} more</summary>"
            f"<ol start='{len(first) + 1}'>{''.join(map(entry, rest))}</ol></details>"
        )
    return "".join(lines)


def _year_over_year(story: Mapping[str, Any], context: PageContext) -> str:
    change = story.get("minutes_change_percent")
    sign = "+" if isinstance(change, (int, float)) and change > 0 else ""
    lines = [f'<p class="big">{sign}{_number(change, 1)} <small>% minutes</small></p>']
    lines.append(
        _bar_chart(
            [
                Bar(
                    "Last year",
                    _number_or_zero(story.get("minutes_previous")),
                    f"{_number(story.get('minutes_previous'))} min",
                ),
                Bar(
                    "This year",
                    _number_or_zero(story.get("minutes_current")),
                    f"{_number(story.get('minutes_current'))} min",
                ),
            ],
            "minutes last year and this year",
        )
    )
    arrows = {"new": "new", "up": "▲", "down": "▼", "same": "="}
    moves = "".join(
        f"<li>{_text(move.get('name'))} <span class='muted'>#{_text(move.get('rank'))} "
        f"{_escape(arrows.get(str(move.get('move')), ''))}"
        + (f" from #{_text(move['previous_rank'])}" if move.get("previous_rank") else "")
        + "</span></li>"
        for move in _records(story.get("artist_moves"))
    )
    if moves:
        lines.append(f"<p>Your top artists moved:</p><ul>{moves}</ul>")
    comebacks = _records(story.get("comebacks"))
    if comebacks:
        lines.append(
            "<p>Welcome back: "
            + ", ".join(
                f"{_text(item.get('name'))} <span class='muted'>(after "
                f"{_number(item.get('silent_days'))} days)</span>"
                for item in comebacks
            )
            + ".</p>"
        )
    loyal = _records(story.get("loyal_artists"))
    if loyal:
        lines.append(
            "<p>Always there: "
            + ", ".join(
                f"{_text(item.get('name'))} <span class='muted'>({_number(item.get('months'))}"
                " months)</span>"
                for item in loyal
            )
            + ".</p>"
        )
    return "".join(lines)


def _milestones(story: Mapping[str, Any], context: PageContext) -> str:
    items = _records(story.get("items"))
    marks = [
        (_parse_date(item.get("reached_on")), _colour(index)) for index, item in enumerate(items)
    ]
    entries = "".join(
        f"<li><span class='swatch {_colour(index)}'></span>{_number(item.get('threshold'))} "
        f"{_text(item.get('kind'))}"
        + (f" of {_text(item.get('name'))}" if item.get("artist_key") else "")
        + f" <span class='muted'>on {_day(_parse_date(item.get('reached_on')))}"
        + (f" at {_text(item['reached_hour'])}:00" if item.get("reached_hour") is not None else "")
        + "</span></li>"
        for index, item in enumerate(items)
    )
    return _period_strip(context, spans=[], marks=marks, label="milestones") + (
        f'<ul class="legend">{entries}</ul>'
    )


def _recommendations(story: Mapping[str, Any], context: PageContext) -> str:
    items = _records(story.get("items"))
    return f"<ol>{''.join(f'<li>{_item_line(item)}</li>' for item in items)}</ol>"


def _generic(story: Mapping[str, Any], context: PageContext) -> str:
    rows = "".join(
        f"<dt>{_escape(str(key).replace('_', ' '))}</dt><dd>{_value_text(value)}</dd>"
        for key, value in story.items()
        if key not in ("eligible", "reason")
    )
    return f"<dl>{rows}</dl>"


RENDERERS: dict[str, Renderer] = {
    "minutes": _minutes,
    "top_tracks": _top_tracks,
    "top_artists": _top_artists,
    "top_albums": _top_albums,
    "top_genres": _top_genres,
    "top_podcasts": _top_podcasts,
    "days": _days,
    "artist_streak": _artist_streak,
    "clock": _clock,
    "audio_day": _audio_day,
    "timeline": _timeline,
    "discovery": _discovery,
    "behaviour": _behaviour,
    "mainstream": _mainstream,
    "evolution": _evolution,
    "personality": _personality,
    "playlist": _playlist,
    "year_over_year": _year_over_year,
    "milestones": _milestones,
    "discover": _recommendations,
    "rediscover": _recommendations,
    "taste_twins": _recommendations,
    "similar_artists": _recommendations,
}


# Charts. Every function returns an escaped SVG (or HTML) fragment.


def _svg(width: float, height: float, body: str, label: str) -> str:
    return (
        f'<svg viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="{_escape(label)}" '
        f'xmlns="http://www.w3.org/2000/svg">{body}</svg>'
    )


def _bar_chart(bars: Sequence[Bar], label: str) -> str:
    """Horizontal bars, one per row, the label above the bar and the value after it."""
    if not bars:
        return '<p class="muted">Nothing to show.</p>'
    row_height = 36
    longest_value = max(len(bar.value_text) for bar in bars)
    bar_room = max(CHART_WIDTH / 3, CHART_WIDTH - 8 - longest_value * SMALL_CHARACTER_WIDTH)
    largest = max(bar.value for bar in bars) or 1.0
    shapes = []
    for index, bar in enumerate(bars):
        top = index * row_height
        length = max(3.0, bar_room * bar.value / largest)
        shapes.append(
            f'<text x="0" y="{top + 12}">{_escape(_clip(bar.label, 50))}</text>'
            f'<rect x="0" y="{top + 18}" width="{length:.1f}" height="10" rx="3" '
            f'class="{_colour(index)}"/>'
            f'<text x="{length + 6:.1f}" y="{top + 27}" class="dim">'
            f"{_escape(bar.value_text)}</text>"
        )
    return _svg(CHART_WIDTH, len(bars) * row_height, "".join(shapes), label)


def _share_bars(bars: Sequence[Bar]) -> str:
    """Bars of shares in [0, 1] on a full-width track, so that they compare at a glance."""
    row_height = 32
    shapes = []
    for index, bar in enumerate(bars):
        top = index * row_height
        length = _clamp(bar.value, 0, 1) * CHART_WIDTH
        shapes.append(
            f'<text x="0" y="{top + 12}">{_escape(bar.label)}</text>'
            f'<text x="{CHART_WIDTH}" y="{top + 12}" text-anchor="end">'
            f"{_escape(bar.value_text)}</text>"
            f'<rect x="0" y="{top + 17}" width="{CHART_WIDTH}" height="8" rx="4" class="track"/>'
            f'<rect x="0" y="{top + 17}" width="{length:.1f}" height="8" rx="4" '
            f'class="{_colour(index)}"/>'
        )
    return _svg(CHART_WIDTH, len(bars) * row_height, "".join(shapes), "shares")


def _stacked_bar(parts: Sequence[tuple[str, float]], label: str) -> str:
    """One bar split in proportion to ``parts`` (name, value); colours follow the legend's."""
    total = sum(value for _, value in parts)
    if total <= 0:
        return ""
    shapes, left = [], 0.0
    for index, (name, value) in enumerate(parts):
        width = CHART_WIDTH * value / total
        shapes.append(
            f'<rect x="{left:.1f}" y="0" width="{width:.1f}" height="16" class="{_colour(index)}">'
            f"<title>{_escape(name)}</title></rect>"
        )
        left += width
    return _svg(CHART_WIDTH, 16, "".join(shapes), label)


def _month_bars(months: Sequence[Mapping[str, Any]]) -> str:
    if not months:
        return ""
    slot = CHART_WIDTH / len(months)
    largest = max(_number_or_zero(month.get("minutes")) for month in months) or 1.0
    height = 110
    every = math.ceil(len(months) / 12)  # at most twelve month labels, whatever the period
    shapes = []
    for index, month in enumerate(months):
        minutes = _number_or_zero(month.get("minutes"))
        bar = max(1.0, height * minutes / largest)
        shapes.append(
            f'<rect x="{index * slot + 2:.1f}" y="{height - bar:.1f}" '
            f'width="{max(1.0, slot - 4):.1f}" height="{bar:.1f}" rx="2" class="c2">'
            f"<title>{_month(month.get('month'))}: {_number(minutes)} minutes</title></rect>"
        )
        if index % every == 0:
            shapes.append(
                f'<text x="{index * slot + slot / 2:.1f}" y="{height + 14}" class="dim" '
                f'text-anchor="middle">{_month(month.get("month"), short=True)}</text>'
            )
    return _svg(CHART_WIDTH, height + 18, "".join(shapes), "minutes per month")


def _race(race: Sequence[Mapping[str, Any]], month_labels: Sequence[str]) -> str:
    """Cumulative streams of the top artists, one line each, across the months."""
    series = [
        [_number_or_zero(v) for v in _sequence(entry.get("cumulative_streams"))] for entry in race
    ]
    steps = max((len(values) for values in series), default=0)
    if steps == 0:
        return ""
    largest = max((value for values in series for value in values), default=0.0) or 1.0
    height, step = 120, CHART_WIDTH / max(1, steps - 1)
    shapes = [
        f'<line x1="0" y1="{height}" x2="{CHART_WIDTH}" y2="{height}" class="track" '
        'stroke="currentColor" stroke-opacity="0.2"/>'
    ]
    for index, values in enumerate(series):
        points = " ".join(
            f"{position * step:.1f},{height - height * value / largest:.1f}"
            for position, value in enumerate(values)
        )
        shapes.append(f'<polyline points="{points}" class="line {_colour(index)}"/>')
    if month_labels:
        shapes.append(f'<text x="0" y="{height + 14}" class="dim">{month_labels[0]}</text>')
        shapes.append(
            f'<text x="{CHART_WIDTH}" y="{height + 14}" class="dim" text-anchor="end">'
            f"{month_labels[-1]}</text>"
        )
    return _svg(CHART_WIDTH, height + 18, "".join(shapes), "race of the top artists")


def _period_strip(
    context: PageContext,
    spans: Sequence[tuple[date | None, date | None, str]],
    marks: Sequence[tuple[date | None, str]],
    label: str,
) -> str:
    """The period as a line with month ticks; ``spans`` as thick segments, ``marks`` as dots."""
    if not (context.start and context.end and context.end > context.start):
        return ""
    length = (context.end - context.start).days

    def x(day: date) -> float:
        offset = _clamp((day - context.start).days, 0, length) if context.start else 0
        return CHART_WIDTH * offset / length

    shapes = [f'<rect x="0" y="14" width="{CHART_WIDTH}" height="6" rx="3" class="track"/>']
    for start, end, colour in spans:
        if start and end:
            width = max(4.0, x(end + timedelta(days=1)) - x(start))
            shapes.append(
                f'<rect x="{x(start):.1f}" y="10" width="{width:.1f}" height="14" rx="4" '
                f'class="{colour}"/>'
            )
    for day, colour in marks:
        if day:
            shapes.append(f'<circle cx="{x(day):.1f}" cy="17" r="6" class="{colour}"/>')
    shapes.append(f'<text x="0" y="42" class="dim">{_day(context.start)}</text>')
    shapes.append(
        f'<text x="{CHART_WIDTH}" y="42" class="dim" text-anchor="end">'
        f"{_day(context.last_day)}</text>"
    )
    return _svg(CHART_WIDTH, 46, "".join(shapes), label)


def _legend(entries: Sequence[str], first_colour: int = 1, escaped: bool = False) -> str:
    items = "".join(
        f"<li><span class='swatch {_colour(index + first_colour - 1)}'></span>"
        f"{entry if escaped else _escape(entry)}</li>"
        for index, entry in enumerate(entries)
    )
    return f'<ul class="legend">{items}</ul>'


# Reading the document defensively, and writing its values as escaped text.


def _escape(text: str) -> str:
    return html.escape(text, quote=True)


def _text_raw(value: Any, missing: str = "—") -> str:
    return missing if value is None else str(value)


def _text(value: Any, missing: str = "—") -> str:
    """``value`` as escaped text; a dash for null."""
    return _escape(_text_raw(value, missing))


def _title(story_id: str) -> str:
    return _escape(TITLES.get(story_id, story_id.replace("_", " ").capitalize()))


def _number(value: Any, decimals: int = 0) -> str:
    """A number with thousands separators; small fractions keep one decimal; a dash for null."""
    if not _is_number(value):
        return "—" if value is None else _text(value)
    if decimals == 0 and not float(value).is_integer() and abs(value) < 10:
        decimals = 1
    return f"{value:,.{decimals}f}"


def _decimal(value: Any) -> str:
    """A number with up to three decimals, trailing zeros dropped: ``0.187``, ``14.2``."""
    text = _number(value, 3)
    return text.rstrip("0").rstrip(".") if _is_number(value) and "." in text else text


def _number_or_zero(value: Any) -> float:
    return float(value) if _is_number(value) else 0.0


def _is_number(value: Any) -> bool:
    """A finite int or float (JSON's booleans are not numbers here)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _percent(share: Any) -> str:
    if share is None:
        return "—"
    return f"{_number(_number_or_zero(share) * 100, 1)} %"


def _clamp(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


def _clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis (before escaping, not after)."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _colour(index: int) -> str:
    return f"c{index % PALETTE_SIZE + 1}"


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _sequence(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else []


def _records(value: Any) -> list[Mapping[str, Any]]:
    return [item for item in _sequence(value) if isinstance(item, Mapping)]


def _parse_date(value: Any) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _day(day: date | None) -> str:
    return f"{day.day} {day:%b %Y}" if day else "—"


def _month(value: Any, short: bool = False) -> str:
    """``"2025-03"`` as ``Mar 2025`` (or ``Mar``); anything else escaped as it is."""
    if isinstance(value, str) and len(value) >= 7:
        try:
            first = date.fromisoformat(f"{value[:7]}-01")
        except ValueError:
            return _text(value)
        return f"{first:%b}" if short else f"{first:%b %Y}"
    return _text(value)


def _months_spanned(first: Any, last: Any) -> int:
    """How many months ``"2025-01"`` .. ``"2025-04"`` covers (4); 1 when either is unreadable."""
    start, end = _parse_date(f"{first}-01"), _parse_date(f"{last}-01")
    if not (start and end) or end < start:
        return 1
    return (end.year - start.year) * 12 + end.month - start.month + 1


def _ranked_label(item: Mapping[str, Any], name_field: str, by_field: str | None = None) -> str:
    """``"1  Name · Artist"`` (unescaped: the chart escapes after clipping)."""
    label = f"{_text_raw(item.get('rank'), '')}  {_text_raw(item.get(name_field))}"
    if by_field and item.get(by_field):
        label += f" · {item[by_field]}"
    return label.strip()


def _item_line(item: Mapping[str, Any]) -> str:
    """A recommendation or any list entry: its name, its artist, then its other values."""
    name_field = next(
        (key for key in ("name", "track_name", "artist_name", "user", "title") if item.get(key)),
        None,
    )
    parts = [f"<strong>{_text(item[name_field])}</strong>"] if name_field else []
    if item.get("artist") and name_field != "artist":
        parts.append(_text(item["artist"]))
    for key, value in item.items():
        if key in (name_field, "artist") or key.endswith("_key") or key.endswith("_id"):
            continue
        parts.append(
            f"<span class='muted'>{_escape(key.replace('_', ' '))}: {_value_text(value)}</span>"
        )
    return " · ".join(parts)


def _value_text(value: Any) -> str:
    """Any JSON value as short escaped text: lists of objects by their names."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return _decimal(value)
    if isinstance(value, Mapping):
        return (
            ", ".join(f"{_escape(str(key))}: {_value_text(inner)}" for key, inner in value.items())
            or "—"
        )
    if isinstance(value, (list, tuple)):
        shown = [
            _text(entry.get("name"))
            if isinstance(entry, Mapping) and "name" in entry
            else _value_text(entry)
            for entry in value[:20]
        ]
        more = f" and {len(value) - 20} more" if len(value) > 20 else ""
        return (", ".join(shown) + more) or "—"
    return _text(value)
