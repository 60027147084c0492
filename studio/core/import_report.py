"""What loading a file tells the user besides the song: errors, cancellation, the report.

Every loader (MIDI, project) raises a subclass of `SongFileError` naming the file and the
reason, and returns an `ImportReport`: plain sentences saying what was skipped or repaired
so the song could load (the UI shows them; an empty report means nothing was changed).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

Progress = Callable[[float], None]  # fraction done, 0.0 .. 1.0
Cancel = Callable[[], bool]  # True: stop as soon as possible


class SongFileError(Exception):
    """A song file could not be read or written. ``path`` and ``reason`` say which and why."""

    def __init__(self, path: str | os.PathLike[str], reason: str, message: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(message)


class LoadCancelled(Exception):
    """The caller's ``cancel()`` returned True while a file was being read."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = str(path)
        super().__init__(f"Opening '{self.path}' was cancelled")


@dataclass(frozen=True)
class ImportReport:
    """What was skipped or repaired while reading ``source``, one sentence per item."""

    source: str
    items: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.items)

    def __iter__(self) -> Iterator[str]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __str__(self) -> str:
        return "\n".join(self.items)


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """'1 note', '3 notes'."""
    word = singular if count == 1 else (plural_form or singular + "s")
    return f"{count:,} {word}"
