"""One module per family of source formats; each exposes ``READERS``, its Reader objects."""

from __future__ import annotations

from spinback.ingest.detect import Reader


def all_readers() -> list[Reader]:
    """Every reader, in the order detection tries them (most specific file names first)."""
    from spinback.ingest.readers import lastfm, listenbrainz, spotify

    return [*spotify.READERS, *listenbrainz.READERS, *lastfm.READERS]
