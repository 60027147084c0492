"""Variation captions without the key they name ("Seed 7 · G minor · draft" -> "Seed 7 ·
draft"), for tests about seeds and stages whose stand-in music has no particular key."""

from __future__ import annotations

import re
from collections.abc import Iterable

_KEY = re.compile(r" · [A-G][♯♭]? (major|minor)")


def without_keys(captions: Iterable[str]) -> list[str]:
    return [_KEY.sub("", caption) for caption in captions]
