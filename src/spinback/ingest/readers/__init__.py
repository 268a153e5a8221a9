"""One module per family of source formats; each exposes ``READERS``, its Reader objects."""

from __future__ import annotations

import dataclasses

from spinback.ingest.detect import Reader


def all_readers(default_play_ms: int | None = None) -> list[Reader]:
    """Every detectable reader, in the order detection tries them.

    Scrobble readers estimate each play's length; ``default_play_ms`` replaces their default.
    """
    from spinback.ingest.readers import lastfm, listenbrainz, spotify

    readers: list[Reader] = [*spotify.READERS, *listenbrainz.READERS, *lastfm.READERS]
    if default_play_ms is None:
        return readers
    return [
        dataclasses.replace(reader, default_play_ms=default_play_ms)  # type: ignore[type-var]
        if hasattr(reader, "default_play_ms")
        else reader
        for reader in readers
    ]
