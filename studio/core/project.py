"""Pianola project files (``.pianola``): a song plus what the composer set around it.

A project is UTF-8 JSON with a format name and version, the song, one view-state dict
per track (whatever the editor wants back: visibility, lane height, ...) and the
generation settings that produced the material. Notes are stored as columns with
delta-encoded starts, so 100,000 notes save and load in a fraction of a second and the
file stays readable and diff-friendly::

    {"format": "pianola-project", "version": 1, "song": {..., "tracks": [{...,
      "notes": {"pitch": [...], "start_delta": [...], "duration": [...], "velocity": [...]}}]},
     "track_view_state": [...], "generation_settings": {...}}

Writes are atomic. Reading never modifies the file; a corrupt file, one with invalid
values, one beyond the limits every song obeys (`studio.core.limits`: note count, song
length, ticks), or one written by a newer Pianola raises `ProjectError` naming file,
reason and limit. Text that could never be saved again (a lone UTF-16 surrogate such as
``"\\ud800"``, which JSON can spell) is repaired on load and listed in the import report.
Note ids are not stored: a loaded track numbers its notes afresh. A track's controllers
(sustain pedal, other control changes, pitch bend) are stored beside its notes as
``"controllers": {"tick_delta": [...], "number": [...], "value": [...]}`` when it has any.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from studio.core import limits
from studio.core.atomic import atomic_write_bytes
from studio.core.import_report import (
    Cancel,
    ImportReport,
    LoadCancelled,
    Progress,
    SongFileError,
    plural,
)
from studio.core.song import (
    Controllers,
    KeySignature,
    Notes,
    Song,
    TempoChange,
    TimeSignature,
    Track,
)

FORMAT_NAME = "pianola-project"
FORMAT_VERSION = 1
FILE_SUFFIX = ".pianola"
_MAX_DEPTH = 100  # nesting of view state and generation settings
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # JSON can spell them; UTF-8 cannot hold them


class ProjectError(SongFileError):
    """A project file could not be read or written; the message names file and reason."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        super().__init__(path, reason, f"Project '{path}': {reason}")


@dataclass
class Project:
    """A song with its per-track view state and the generation settings behind it."""

    song: Song
    track_view_state: list[dict[str, Any]] = field(default_factory=list)
    generation_settings: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------
# Saving
# ---------------------------------------------------------------------------------------
def save_project(project: Project, path: str | os.PathLike[str]) -> None:
    """Write ``project`` to ``path`` atomically (an existing file survives any failure)."""
    try:
        document = project_to_dict(project)
        text = json.dumps(document, ensure_ascii=False, separators=(",", ":"), default=_jsonable)
    except (TypeError, ValueError) as exc:
        raise ProjectError(path, f"cannot be saved: {exc}") from None
    except RecursionError:
        raise ProjectError(path, "cannot be saved: its settings are nested too deeply") from None
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate (pasted text, a file name's undecodable byte) has no UTF-8 form:
        # save U+FFFD in its place rather than refuse the whole song.
        data = _LONE_SURROGATE.sub("\ufffd", text).encode("utf-8")
    atomic_write_bytes(path, data)


def project_to_dict(project: Project) -> dict[str, Any]:
    if not isinstance(project.track_view_state, list) or not all(
        isinstance(v, dict) for v in project.track_view_state
    ):
        raise ValueError("track_view_state must be a list of dicts")
    if not isinstance(project.generation_settings, dict):
        raise ValueError("generation_settings must be a dict")
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "song": song_to_dict(project.song),
        "track_view_state": project.track_view_state,
        "generation_settings": project.generation_settings,
    }


def song_to_dict(song: Song) -> dict[str, Any]:
    out = {
        "title": song.title,
        "ticks_per_beat": song.ticks_per_beat,
        "tempos": [[t.tick, t.bpm] for t in song.tempos],
        "time_signatures": [[t.tick, t.numerator, t.denominator] for t in song.time_signatures],
        "tracks": [_track_to_dict(t) for t in song.tracks],
    }
    if song.key_signatures:  # absent when none: older versions read the file as before
        out["key_signatures"] = [[k.tick, k.sharps, k.minor] for k in song.key_signatures]
    return out


def _track_to_dict(track: Track) -> dict[str, Any]:
    notes = track.notes
    out: dict[str, Any] = {
        "name": track.name,
        "program": track.program,
        "is_drum": track.is_drum,
        "colour": track.colour,
        "mute": track.mute,
        "solo": track.solo,
        "notes": {
            "pitch": notes.pitch.tolist(),
            "start_delta": np.diff(notes.start, prepend=0).tolist(),
            "duration": notes.duration.tolist(),
            "velocity": notes.velocity.tolist(),
        },
    }
    controls = track.controllers
    if len(controls):
        out["controllers"] = {
            "tick_delta": np.diff(controls.tick, prepend=0).tolist(),
            "number": controls.number.tolist(),
            "value": controls.value.tolist(),
        }
    return out


def _jsonable(value: Any) -> Any:
    """Let settings hold numpy scalars/arrays and paths."""
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} values cannot be stored in a project")


# ---------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------
def load_project(path: str | os.PathLike[str]) -> Project:
    """Read a project file. Raises `ProjectError`; never writes to ``path``."""
    return load_project_with_report(path)[0]


def load_project_with_report(
    path: str | os.PathLike[str], progress: Progress | None = None, cancel: Cancel | None = None
) -> tuple[Project, ImportReport]:
    """`load_project` plus the report of what was repaired. ``progress(fraction)`` is
    called between stages; when ``cancel()`` returns True the load stops with
    `LoadCancelled`."""
    path = Path(path)

    def stage(fraction: float) -> None:
        if cancel is not None and cancel():
            raise LoadCancelled(path)
        if progress is not None:
            progress(fraction)

    try:
        size = path.stat().st_size
        if size > limits.MAX_PROJECT_BYTES:
            raise ProjectError(
                path,
                f"the file is too large ({size / 2**20:.0f} MiB; "
                f"the limit is {limits.MAX_PROJECT_BYTES // 2**20} MiB)",
            )
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ProjectError(path, "the file does not exist") from None
    except IsADirectoryError:
        raise ProjectError(path, "it is a folder, not a file") from None
    except OSError as exc:
        raise ProjectError(path, f"the file cannot be read ({exc.strerror or exc})") from None
    stage(0.1)
    if not raw.strip():
        raise ProjectError(path, "the file is empty")
    try:
        document = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ProjectError(path, "not a Pianola project (not UTF-8 text)") from None
    except json.JSONDecodeError as exc:
        raise ProjectError(
            path, f"the file is corrupt (invalid JSON at line {exc.lineno}, column {exc.colno})"
        ) from None
    except RecursionError:
        raise ProjectError(path, "the file is corrupt (nested too deeply)") from None
    except MemoryError:
        raise ProjectError(path, "there is not enough memory to read it") from None
    del raw
    stage(0.6)
    repairs: list[str] = []
    project = project_from_dict(document, path, repairs)
    if progress is not None:
        progress(1.0)
    return project, ImportReport(str(path), tuple(repairs))


def project_from_dict(
    document: Any, source: str | os.PathLike[str] = "<data>", repairs: list[str] | None = None
) -> Project:
    """A `Project` from parsed JSON; text that could not be saved again is repaired and
    the repair described in ``repairs``."""
    if not isinstance(document, dict) or document.get("format") != FORMAT_NAME:
        raise ProjectError(source, "not a Pianola project (no 'pianola-project' format marker)")
    version = document.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ProjectError(source, f"the file is corrupt (format version {version!r})")
    if version > FORMAT_VERSION:
        raise ProjectError(
            source,
            f"it was saved by a newer Pianola (project format {version}; this version reads "
            f"up to {FORMAT_VERSION}). Update Pianola to open it.",
        )
    try:
        song = song_from_dict(document["song"])
        view = document.get("track_view_state", [])
        settings = document.get("generation_settings", {})
        if not isinstance(view, list) or not all(isinstance(v, dict) for v in view):
            raise ValueError("track_view_state must be a list of objects")
        if not isinstance(settings, dict):
            raise ValueError("generation_settings must be an object")
        repaired = _repair_song_text(song)
        view, in_view = _repair_text(view)
        settings, in_settings = _repair_text(settings)
    except KeyError as exc:
        raise ProjectError(source, f"the file is corrupt (missing {exc.args[0]!r})") from None
    except _LimitError as exc:
        raise ProjectError(source, str(exc)) from None
    except (ValueError, TypeError, OverflowError) as exc:
        raise ProjectError(source, f"the file is corrupt ({exc})") from None
    except MemoryError:
        raise ProjectError(source, "there is not enough memory to read it") from None
    if (repaired or in_view or in_settings) and repairs is not None:
        repairs.append(
            f"Replaced {plural(repaired + in_view + in_settings, 'invalid character')} "
            "(lone UTF-16 surrogates, which cannot be saved) with \ufffd."
        )
    return Project(song, view, settings)


class _LimitError(ValueError):
    """Internal: a value beyond `studio.core.limits`; the message names the limit."""


def song_from_dict(data: dict[str, Any]) -> Song:
    """A `Song` from its JSON form, within the limits every song obeys."""
    if not isinstance(data, dict):
        raise ValueError("song must be an object")
    ticks_per_beat = data["ticks_per_beat"]
    if isinstance(ticks_per_beat, bool) or not isinstance(ticks_per_beat, int):
        raise ValueError(f"ticks_per_beat must be an integer, got {ticks_per_beat!r}")
    if not 1 <= ticks_per_beat <= 32767:
        raise ValueError(f"ticks_per_beat must be in 1..32767, got {ticks_per_beat}")
    last = limits.max_song_tick(ticks_per_beat)
    where = limits.describe_tick_limit(ticks_per_beat)
    tempos = [
        TempoChange(_tick(tick, "a tempo change", last, where), _number(bpm))
        for tick, bpm in _rows(data["tempos"], "tempos")
    ]
    signatures = [
        TimeSignature(
            _tick(tick, "a time signature", last, where),
            _int(num, "time signature numerator"),
            _int(den, "time signature denominator"),
        )
        for tick, num, den in _rows(data["time_signatures"], "time_signatures")
    ]
    keys = [
        KeySignature(_tick(tick, "a key signature", last, where), _int(sharps, "sharps"), minor)
        for tick, sharps, minor in _rows(data.get("key_signatures", []), "key_signatures")
    ]
    raw_tracks = data["tracks"]
    if not isinstance(raw_tracks, list):
        raise ValueError("tracks must be a list")
    if len(raw_tracks) > limits.MAX_TRACKS:
        raise _LimitError(
            f"it has {len(raw_tracks):,} tracks; a song holds at most {limits.MAX_TRACKS:,}"
        )
    tracks: list[Track] = []
    notes = controllers = 0
    for k, t in enumerate(raw_tracks):
        tracks.append(_track_from_dict(t, k, last, where))
        notes += len(tracks[-1].notes)
        controllers += len(tracks[-1].controllers)
        if notes > limits.MAX_NOTES:
            raise _LimitError(f"it has more than {limits.MAX_NOTES:,} notes, the most a song holds")
        if controllers > limits.MAX_CONTROLLERS:
            raise _LimitError(
                f"it has more than {limits.MAX_CONTROLLERS:,} controller events, "
                "the most a song holds"
            )
    return Song(data["title"], ticks_per_beat, tempos, signatures, tracks, keys)


def _rows(value: Any, name: str) -> list[Any]:
    if not isinstance(value, list) or not all(isinstance(row, list) for row in value):
        raise ValueError(f"{name} must be a list of lists")
    return value


def _track_from_dict(data: dict[str, Any], index: int, last: int, where: str) -> Track:
    if not isinstance(data, dict):
        raise ValueError(f"track {index + 1} must be an object")
    label = f"track {index + 1}"
    columns = data["notes"]
    if not isinstance(columns, dict):
        raise ValueError(f"{label}: notes must be an object")
    pitch = _column(columns["pitch"], "pitch")
    start = _ticks(columns["start_delta"], "start_delta", label, last, where, cumulative=True)
    duration = _ticks(columns["duration"], "duration", label, last, where)
    velocity = _column(columns["velocity"], "velocity")
    if not (len(pitch) == len(start) == len(duration) == len(velocity)):
        raise ValueError(f"{label}: note columns have different lengths")
    if len(pitch) > limits.MAX_NOTES:
        raise _LimitError(f"{label} has more than {limits.MAX_NOTES:,} notes")
    if len(start) and int((start + duration).max()) > last:
        raise _LimitError(f"{label}: a note ends past {where}, the longest song Pianola holds")
    try:
        notes = Notes(pitch, start, duration, velocity)
        controllers = _controllers_from_dict(data.get("controllers"), label, last, where)
    except _LimitError:
        raise
    except ValueError as exc:
        raise ValueError(f"{label}: {exc}") from None
    return Track(
        data["name"],
        data["program"],
        data["is_drum"],
        data["colour"],
        data.get("mute", False),
        data.get("solo", False),
        notes,
        controllers,
    )


def _controllers_from_dict(data: Any, label: str, last: int, where: str) -> Controllers:
    if data is None:
        return Controllers()
    if not isinstance(data, dict):
        raise ValueError("controllers must be an object")
    tick = _ticks(data["tick_delta"], "controller tick_delta", label, last, where, True)
    number = _column(data["number"], "controller number")
    value = _column(data["value"], "controller value")
    if not len(tick) == len(number) == len(value):
        raise ValueError("controller columns have different lengths")
    if len(tick) > limits.MAX_CONTROLLERS:
        raise _LimitError(f"{label} has more than {limits.MAX_CONTROLLERS:,} controller events")
    return Controllers(tick, number, value)


def _column(values: Any, name: str) -> np.ndarray:
    if not isinstance(values, list):
        raise ValueError(f"note column {name!r} must be a list")
    if len(values) > max(limits.MAX_NOTES, limits.MAX_CONTROLLERS):
        raise _LimitError(f"column {name!r} holds more values than a song may have")
    try:
        array = np.asarray(values)
    except OverflowError:
        raise ValueError(f"note column {name!r} holds a number too large") from None
    if array.dtype.kind not in "iu" and values and all(type(v) is int for v in values):
        # numpy gives floats or objects for integers beyond 64 bits
        raise ValueError(f"note column {name!r} holds a number too large")
    if array.ndim != 1 or (len(values) and array.dtype.kind not in "iu"):
        raise ValueError(f"note column {name!r} must hold integers")
    if array.dtype.kind == "u" and len(array) and int(array.max()) > np.iinfo(np.int64).max:
        raise ValueError(f"note column {name!r} holds a number too large")
    return array.astype(np.int64)


def _ticks(
    values: Any, name: str, label: str, last: int, where: str, cumulative: bool = False
) -> np.ndarray:
    """A column of tick values (or of steps between them, ``cumulative``), each checked
    against the song's limit before any sum, so nothing can overflow."""
    column = _column(values, name)
    if len(column) and int(np.abs(column).max()) > last:
        raise _LimitError(
            f"{label}: {name} {int(column[np.abs(column).argmax()]):,} is past {where}, "
            "the longest song Pianola holds"
        )
    if not cumulative:
        return column
    ticks = np.cumsum(column)  # |each| <= MAX_TICK and n <= MAX_NOTES: no overflow
    if len(ticks) and int(ticks.max()) > last:
        raise _LimitError(
            f"{label}: an event at tick {int(ticks.max()):,} is past {where}, "
            "the longest song Pianola holds"
        )
    return ticks


def _tick(value: Any, what: str, last: int, where: str) -> int:
    tick = _int(value, f"{what} tick")
    if tick > last:
        raise _LimitError(
            f"{what} at tick {tick:,} is past {where}, the longest song Pianola holds"
        )
    return tick


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    return value


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"tempo must be a number, got {value!r}")
    return float(value)


def _repair_song_text(song: Song) -> int:
    """Replace lone surrogates in the title and track names; how many were replaced."""
    count = 0
    song.title, n = _repair_string(song.title)
    count += n
    for track in song.tracks:
        track.name, n = _repair_string(track.name)
        count += n
    return count


def _repair_string(text: str) -> tuple[str, int]:
    if text.isascii():
        return text, 0
    return _LONE_SURROGATE.subn("\ufffd", text)


def _repair_text(value: Any, depth: int = 0) -> tuple[Any, int]:
    """``value`` (parsed JSON) with lone surrogates replaced in every string and key."""
    if isinstance(value, str):
        return _repair_string(value)
    if depth > _MAX_DEPTH:  # what loads must save, and the JSON writer has a depth limit
        raise ValueError(f"settings are nested more than {_MAX_DEPTH} levels deep")
    if isinstance(value, list):
        count = 0
        out_list = []
        for item in value:
            fixed, n = _repair_text(item, depth + 1)
            out_list.append(fixed)
            count += n
        return (out_list, count) if count else (value, 0)
    if isinstance(value, dict):
        count = 0
        out_dict = {}
        for key, item in value.items():
            fixed_key, n = _repair_text(key, depth + 1)
            fixed, m = _repair_text(item, depth + 1)
            out_dict[fixed_key] = fixed
            count += n + m
        return (out_dict, count) if count else (value, 0)
    return value, 0
