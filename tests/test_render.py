from __future__ import annotations

import copy
import fnmatch
import html
import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, ValidationError
from pyspark.sql import SparkSession

from render_support import engine_documents, fixture_documents
from spinback.config import Config
from spinback.render import html as page_html
from spinback.render.documents import (
    SCHEMA_FILE,
    SCHEMA_VERSION,
    document_schema,
    write_documents,
    write_pages,
)
from spinback.render.html import story_page
from spinback.stories.registry import STORIES

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "stories.md"
FIXED_FIELDS = ("schema_version", "user", "period", "timezone")
DOCUMENTS = fixture_documents()


def validate(document: dict[str, Any], schema: dict[str, Any] | None = None) -> None:
    validator = Draft202012Validator(
        schema or document_schema(), format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    validator.validate(document)


def changed(document: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of ``document`` with the field at ``path`` (``a.b.0.c``) set, or removed when
    ``value`` is ``REMOVE``."""
    result = copy.deepcopy(document)
    *parents, last = path.split(".")
    holder: Any = result
    for part in parents:
        holder = holder[int(part)] if isinstance(holder, list) else holder[part]
    key: Any = int(last) if isinstance(holder, list) else last
    if value is REMOVE:
        del holder[key]
    else:
        holder[key] = value
    return result


REMOVE = object()


def cards_of(page: str) -> list[str]:
    return re.findall(r'<section class="card" id="story-([^"]+)">', page)


# The schema.


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    Draft202012Validator.check_schema(document_schema())


def test_the_schema_travels_in_the_wheel() -> None:
    # The loader reads it from the installed package; package-data must name it for wheels.
    pyproject = (ROOT / "pyproject.toml").read_text()
    listed = re.search(r"\[tool\.setuptools\.package-data\]\s*spinback = \[([^\]]*)\]", pyproject)
    assert listed, "no package-data for spinback in pyproject.toml"
    patterns = re.findall(r'"([^"]+)"', listed[1])
    assert any(fnmatch.fnmatch(f"render/{SCHEMA_FILE}", pattern) for pattern in patterns)


def test_every_story_of_the_registry_has_a_schema() -> None:
    properties = document_schema()["properties"]

    missing = [story.id for story in STORIES if story.id not in properties]

    assert missing == [], f"add these stories to render/{SCHEMA_FILE}: {missing}"


def test_every_story_of_the_docs_has_a_schema_and_is_required() -> None:
    documented = re.findall(r"^\| `([a-z_]+)` \|", DOCS.read_text(), re.M)
    required = document_schema()["required"]

    assert documented, "no story table found in docs/stories.md"
    assert [story for story in documented if story not in required] == []


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_every_fixture_document_follows_the_schema(name: str) -> None:
    document = DOCUMENTS[name]

    validate(document)

    assert document["schema_version"] == SCHEMA_VERSION


def test_the_fixtures_cover_every_story_eligible_and_not() -> None:
    stories = document_schema()["required"][len(FIXED_FIELDS) :]
    recommender = ["discover", "rediscover", "taste_twins", "similar_artists"]
    # Every user in a document played something, so stories eligible on "any play" always are.
    always = re.findall(r"^\| `([a-z_]+)` \|.*\| any play[^|]*\|$", DOCS.read_text(), re.M)

    assert always, "no story of docs/stories.md is eligible on any play"
    for story in [*stories, *recommender]:
        seen = {d[story]["eligible"] for d in DOCUMENTS.values() if story in d}
        assert True in seen, f"no fixture has an eligible {story}"
        if story not in [*always, *recommender]:
            assert False in seen, f"no fixture has an ineligible {story}"


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("user", "'user' is a required property"),
        ("timezone", "'timezone' is a required property"),
        ("period.end", "'end' is a required property"),
        ("minutes.total", "'total' is a required property"),
        ("minutes.audiobook", "'audiobook' is a required property"),
        ("top_tracks.distinct", "'distinct' is a required property"),
        ("top_tracks.items.0.artist", "'artist' is a required property"),
        ("top_artists.items.2.streams", "'streams' is a required property"),
        ("days.biggest_day.date", "'date' is a required property"),
        ("days.longest_streak.length", "is not valid under any of the given schemas"),
        ("clock", "'clock' is a required property"),
        ("clock.eligible", "'eligible' is a required property"),
    ],
)
def test_a_document_missing_a_fixed_field_fails(path: str, message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        validate(changed(DOCUMENTS["rich"], path, REMOVE))


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("schema_version", 1, "1 is not of type 'string'"),
        ("user", None, "None is not of type 'string'"),
        ("period.start", "01/01/2025", "'01/01/2025' is not a 'date'"),
        ("period.end", "2025-02-30", "'2025-02-30' is not a 'date'"),
        ("minutes.total", "lots", "'lots' is not of type 'number', 'null'"),
        ("minutes.music", -1, "-1 is less than the minimum of 0"),
        ("top_tracks.items.0.rank", 0, "0 is less than the minimum of 1"),
        ("top_artists.items", {"rank": 1}, "is not of type 'array', 'null'"),
        ("days.days_listened", 3.5, "3.5 is not of type 'integer', 'null'"),
        ("clock.heatmap.0", [1, 2, 3], "[1, 2, 3] is too short"),
        ("timeline.months.0.month", "2025-13", "'2025-13' does not match"),
        ("evolution.phases.0.kind", "mood", "'mood' is not one of ['genre', 'artist']"),
        ("personality.letters", "EVIL", "'EVIL' does not match"),
        ("milestones.items.0.kind", "plays", "'plays' is not one of ['streams', 'minutes']"),
        # An eligible story holds its values; its reason is null, an ineligible one's is text.
        ("days.days_listened", None, "None should not be valid under {'type': 'null'}"),
        ("minutes.reason", "because", "'because' is not of type 'null'"),
        ("rediscover.reason", None, "None is not of type 'string'"),
    ],
)
def test_a_document_with_a_wrong_value_fails(path: str, value: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        validate(changed(DOCUMENTS["rich"], path, value))


def test_an_ineligible_story_may_hold_nulls_and_fields_the_schema_does_not_know() -> None:
    document = changed(DOCUMENTS["rich"], "days", {"eligible": False, "reason": "no stream"})
    document["days"].update(biggest_day=None, days_listened=None, longest_streak=None)
    document["days"]["weekend_share"] = 0.4
    document["listening_weather"] = {"eligible": True, "reason": None}

    validate(document)


@pytest.mark.heavy
def test_documents_of_the_engine_follow_the_schema(spark: SparkSession, config: Config) -> None:
    documents = engine_documents(spark, config)

    assert sorted(documents) == ["engine-fan", "engine-podcaster"]
    for document in documents.values():
        validate(document)


# The page.


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_the_page_has_a_card_per_eligible_story_in_document_order(name: str) -> None:
    document = DOCUMENTS[name]
    stories = {k: v for k, v in document.items() if k not in FIXED_FIELDS}

    page = story_page(document)

    assert cards_of(page) == [story for story, value in stories.items() if value["eligible"]]
    for value in stories.values():
        if not value["eligible"]:
            assert html.escape(value["reason"]) in page.split("Not shown this time")[1]


def test_the_page_escapes_names_so_no_markup_from_a_document_runs() -> None:
    page = story_page(DOCUMENTS["rich"])

    # Names in the fixture: <script>alert('x')</script> & "The Quotes", and a track named
    # </svg><img src=x onerror=alert(1)>. They appear as text, never as elements.
    assert "<script" not in page.lower()
    assert "<img" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;The Quotes&quot;" in page
    assert "&lt;/svg&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    assert "listener-&lt;02&gt;" in story_page(DOCUMENTS["sparse"])


def test_the_page_needs_no_network() -> None:
    page = story_page(DOCUMENTS["rich"])

    assert "default-src 'none'" in page
    assert re.findall(r"""(?:src|href)=["'](?!data:|#)""", page) == []
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in page


def test_a_story_without_a_renderer_is_shown_as_its_fields() -> None:
    page = story_page(DOCUMENTS["podcaster"])

    card = page.split('id="story-listening_weather">')[1].split("</section>")[0]
    assert "<h2>Listening weather</h2>" in card
    assert "<dt>sunny minutes</dt><dd>1,200.5</dd>" in card
    assert "<dt>shows</dt><dd>Rain &lt;Sounds&gt;</dd>" in card


def test_a_story_whose_shape_a_renderer_cannot_read_falls_back_to_its_fields(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(story: Any, context: Any) -> str:
        raise KeyError("total_minutes")

    monkeypatch.setitem(page_html.RENDERERS, "minutes", broken)

    with caplog.at_level(logging.WARNING, logger="spinback.render.html"):
        page = story_page(DOCUMENTS["rich"])

    card = page.split('id="story-minutes">')[1].split("</section>")[0]
    assert "<dt>total</dt><dd>21,106.75</dd>" in card
    assert "story minutes does not have the shape its renderer expects" in caplog.text


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_the_fixtures_render_without_falling_back(
    name: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="spinback.render.html"):
        story_page(DOCUMENTS[name])

    assert caplog.text == ""


def test_the_page_survives_a_document_of_nulls_and_strange_values() -> None:
    document = {
        "user": None,
        "period": None,
        "minutes": {"eligible": True, "reason": None, "total": "lots", "music": float("nan")},
        "clock": {"eligible": True, "reason": None, "heatmap": [[1, None, "x"]], "peak_hour": 99},
        "days": {"eligible": True, "reason": None, "biggest_day": [], "longest_streak": "long"},
        "timeline": {"eligible": True, "months": [{"month": "someday", "minutes": None}]},
        "playlist": {"eligible": "yes", "tracks": None},
    }

    page = story_page(document)

    assert cards_of(page) == ["minutes", "clock", "days", "timeline", "playlist"]
    assert "lots" in page


# Writing documents and pages.


def test_pages_are_written_beside_the_documents(spark: SparkSession, tmp_path: Path) -> None:
    rows = [(d["user"], json.dumps(d, ensure_ascii=False)) for d in DOCUMENTS.values()]
    documents = spark.createDataFrame(rows, "user_id string, document string")
    out = tmp_path / "documents"

    write_documents(documents, str(out), "2025", is_local=True)
    written = write_pages(documents, str(out), "2025", is_local=True)

    assert written == str(out)
    assert sorted(p.name for p in out.iterdir()) == sorted(d["user"] for d in DOCUMENTS.values())
    for document in DOCUMENTS.values():
        folder = out / document["user"]
        assert sorted(p.name for p in folder.iterdir()) == ["2025.html", "2025.json"]
        assert json.loads((folder / "2025.json").read_text(encoding="utf-8")) == document
        page = (folder / "2025.html").read_text(encoding="utf-8")
        assert page.strip() == story_page(document).strip()


def test_pages_stay_partitioned_by_user_outside_a_local_folder(
    spark: SparkSession, tmp_path: Path
) -> None:
    document = DOCUMENTS["sparse"]
    documents = spark.createDataFrame(
        [(document["user"], json.dumps(document))], "user_id string, document string"
    )

    written = write_pages(documents, str(tmp_path), "2025-Q2", is_local=False)

    assert written == f"{tmp_path}/_staging-2025-Q2.html"
    (folder,) = Path(written).glob("user_id=*")
    (part,) = folder.glob("part-*")
    assert part.read_text(encoding="utf-8").startswith("<!doctype html>")
