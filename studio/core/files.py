"""Open any song file Pianola reads, without Qt: the one entry point for the app's open
worker, the CLI and tests.

``load_song_file(path, progress=None, cancel=None)`` picks the reader by extension
(MIDI: .mid .midi .kar .smf .rmi; project: .pianola), or by the file's first bytes for any
other name, and returns a `LoadedSong`: the song, the project around it (for a .pianola),
and the `ImportReport` of what was skipped or repaired. Errors are `SongFileError`s
(`MidiImportError`, `ProjectError`, `UnsupportedFileError`) naming file and reason;
``cancel()`` returning True stops the read with `LoadCancelled`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from studio.core.import_report import Cancel, ImportReport, Progress, SongFileError
from studio.core.midi_io import load_midi_with_report
from studio.core.project import FILE_SUFFIX, Project, load_project_with_report
from studio.core.song import Song

MIDI_SUFFIXES = (".mid", ".midi", ".kar", ".smf", ".rmi")
PROJECT_SUFFIXES = (FILE_SUFFIX,)


class UnsupportedFileError(SongFileError):
    """A file that is neither a MIDI file nor a Pianola project."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        super().__init__(path, reason, f"Cannot open '{path}': {reason}")


@dataclass(frozen=True)
class LoadedSong:
    """What opening a file gives: the song, its project (None for MIDI) and the report."""

    path: Path
    song: Song
    project: Project | None
    report: ImportReport

    @property
    def is_project(self) -> bool:
        return self.project is not None


def load_song_file(
    path: str | os.PathLike[str],
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> LoadedSong:
    """Read a MIDI file or a Pianola project. ``progress(fraction)`` is called now and
    then from the calling thread; ``cancel()`` is polled at the same points."""
    path = Path(path)
    kind = file_kind(path)
    if kind == "project":
        project, report = load_project_with_report(path, progress, cancel)
        return LoadedSong(path, project.song, project, report)
    song, report = load_midi_with_report(path, progress, cancel)
    return LoadedSong(path, song, None, report)


def file_kind(path: Path) -> str:
    """'midi' or 'project', from the extension, else from the first bytes."""
    suffix = path.suffix.lower()
    if suffix in MIDI_SUFFIXES:
        return "midi"
    if suffix in PROJECT_SUFFIXES:
        return "project"
    try:
        with path.open("rb") as handle:
            head = handle.read(64)
    except FileNotFoundError:
        raise UnsupportedFileError(path, "the file does not exist") from None
    except IsADirectoryError:
        raise UnsupportedFileError(path, "it is a folder, not a file") from None
    except OSError as exc:
        raise UnsupportedFileError(
            path, f"the file cannot be read ({exc.strerror or exc})"
        ) from None
    if head[:4] in (b"MThd", b"RIFF"):
        return "midi"
    if head.lstrip()[:1] == b"{":
        return "project"
    raise UnsupportedFileError(
        path, "it is neither a MIDI file nor a Pianola project (.mid, .midi, .kar, .pianola)"
    )
