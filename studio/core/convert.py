"""Convert a song file between MIDI, MusicXML and Pianola projects, chosen by extension.

The same readers and writers as the app (`midi_io`, `musicxml`, `project`), so what the
app keeps, a conversion keeps: tracks, notes, tempo and time-signature maps, and the
controllers (sustain pedal, pitch bend...) wherever the target format can hold them.
The report says what the target could not hold, so nothing is lost silently.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from studio.core.midi_io import MidiExportError, MidiImportError, load_midi, save_midi
from studio.core.musicxml import (
    MUSICXML_SUFFIXES,
    MusicXmlExportError,
    MusicXmlImportError,
    load_musicxml,
    save_musicxml,
)
from studio.core.project import FILE_SUFFIX, Project, ProjectError, load_project, save_project
from studio.core.song import SUSTAIN, Song

MIDI_SUFFIXES = (".mid", ".midi", ".kar")
PROJECT_SUFFIXES = (FILE_SUFFIX,)
FORMATS = {"midi": MIDI_SUFFIXES, "musicxml": MUSICXML_SUFFIXES, "project": PROJECT_SUFFIXES}
_READ_ERRORS = (MidiImportError, MusicXmlImportError, ProjectError)
_WRITE_ERRORS = (MidiExportError, MusicXmlExportError, ProjectError, OSError)


class ConvertError(Exception):
    """A conversion failed; the message says which file and why. ``dst`` is untouched."""


@dataclass(frozen=True)
class ConvertReport:
    """What `convert_file` read and wrote."""

    src: str
    dst: str
    src_format: str
    dst_format: str
    tracks: int
    notes: int
    controllers: int  # controller and pitch-bend events read
    tempos: int
    time_signatures: int
    lost: tuple[str, ...] = field(default_factory=tuple)  # what the target cannot hold

    def summary(self) -> str:
        """One line for people, e.g. "Wrote out.mid: 4 tracks, 206 notes, 1 tempo"."""
        parts = [_count(self.tracks, "track"), _count(self.notes, "note")]
        if self.controllers:
            parts.append(_count(self.controllers, "controller event"))
        parts.append(_count(self.tempos, "tempo"))
        parts.append(_count(self.time_signatures, "time signature"))
        text = f"Wrote {self.dst}: {', '.join(parts)}"
        if self.lost:
            text += "\nNot kept in this format: " + "; ".join(self.lost)
        return text


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def format_of(path: str | os.PathLike[str]) -> str:
    """ "midi", "musicxml" or "project" from the file name; ConvertError otherwise."""
    name = str(path).lower()
    for fmt, suffixes in FORMATS.items():
        if name.endswith(suffixes):
            return fmt
    known = ", ".join(s for suffixes in FORMATS.values() for s in suffixes)
    raise ConvertError(f"'{path}': unknown file type (use one of {known})")


def read_song(path: str | os.PathLike[str]) -> Project:
    """Read any supported file as a project (MIDI and MusicXML have no view state)."""
    fmt = format_of(path)
    try:
        if fmt == "project":
            return load_project(path)
        song = load_midi(path) if fmt == "midi" else load_musicxml(path)
    except _READ_ERRORS as error:
        raise ConvertError(str(error)) from error
    return Project(song)


def convert_file(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> ConvertReport:
    """Convert ``src`` to ``dst``, each format chosen by its extension.

    Raises `ConvertError` (an unknown extension, the same file twice, an unreadable
    source, a failed write); the destination is written atomically, so a failure leaves
    any existing file there as it was.
    """
    src_format, dst_format = format_of(src), format_of(dst)
    source, target = Path(src), Path(dst)
    if target.exists() and source.exists() and source.resolve() == target.resolve():
        raise ConvertError(f"'{src}': the source and the destination are the same file")
    project = read_song(source)
    song = project.song
    lost = list(_lost_in(song, dst_format))
    try:
        if dst_format == "project":
            view = (
                project.track_view_state
                if len(project.track_view_state) == len(song.tracks)
                else []
            )
            save_project(Project(song, view, dict(project.generation_settings)), target)
        elif dst_format == "midi":
            save_midi(song, target)
        else:
            written = save_musicxml(song, target)
            if written.moved_to_grid:
                lost.append(
                    f"exact timing of {_count(written.moved_to_grid, 'note')} "
                    "(moved to the nearest 64th note or 32nd-note triplet)"
                )
    except _WRITE_ERRORS as error:
        raise ConvertError(str(error)) from error
    return ConvertReport(
        str(source),
        str(target),
        src_format,
        dst_format,
        len(song.tracks),
        song.note_count,
        _controller_count(song),
        len(song.tempos),
        len(song.time_signatures),
        tuple(lost),
    )


def _controller_count(song: Song) -> int:
    return sum(len(track.controllers) for track in song.tracks)


def _lost_in(song: Song, dst_format: str) -> list[str]:
    """What of ``song`` the target format cannot hold (only what the song has)."""
    lost: list[str] = []
    if dst_format == "project":
        return lost
    if any(t.mute or t.solo for t in song.tracks):
        lost.append("mute and solo")
    if dst_format == "musicxml":
        # The sustain pedal becomes pedal marks; other controllers have no notation.
        other = sum(int(np.count_nonzero(t.controllers.number != SUSTAIN)) for t in song.tracks)
        if other:
            lost.append(f"{_count(other, 'controller event')} (modulation, pitch bend...)")
        if any(len(t.controllers.of(SUSTAIN)) for t in song.tracks if not t.is_drum):
            lost.append("exact sustain-pedal times (pedal marks start and end at notes)")
    return lost
