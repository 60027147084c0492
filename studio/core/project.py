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
values, or one written by a newer Pianola raises `ProjectError` naming file and reason.
Note ids are not stored: a loaded track numbers its notes afresh.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from studio.core.atomic import atomic_write_bytes
from studio.core.song import Notes, Song, TempoChange, TimeSignature, Track

FORMAT_NAME = "pianola-project"
FORMAT_VERSION = 1
FILE_SUFFIX = ".pianola"
MAX_PROJECT_BYTES = 512 * 1024 * 1024


class ProjectError(Exception):
    """A project file could not be read or written; the message names file and reason."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"Project '{self.path}': {reason}")


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
    atomic_write_bytes(path, text.encode("utf-8"))


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
    return {
        "title": song.title,
        "ticks_per_beat": song.ticks_per_beat,
        "tempos": [[t.tick, t.bpm] for t in song.tempos],
        "time_signatures": [[t.tick, t.numerator, t.denominator] for t in song.time_signatures],
        "tracks": [_track_to_dict(t) for t in song.tracks],
    }


def _track_to_dict(track: Track) -> dict[str, Any]:
    notes = track.notes
    return {
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
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_PROJECT_BYTES:
            raise ProjectError(path, f"the file is too large ({size / 2**20:.0f} MiB)")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ProjectError(path, "the file does not exist") from None
    except IsADirectoryError:
        raise ProjectError(path, "it is a folder, not a file") from None
    except OSError as exc:
        raise ProjectError(path, f"the file cannot be read ({exc.strerror or exc})") from None
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
    return project_from_dict(document, path)


def project_from_dict(document: Any, source: str | os.PathLike[str] = "<data>") -> Project:
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
    except KeyError as exc:
        raise ProjectError(source, f"the file is corrupt (missing {exc.args[0]!r})") from None
    except (ValueError, TypeError, OverflowError) as exc:
        raise ProjectError(source, f"the file is corrupt ({exc})") from None
    return Project(song, view, settings)


def song_from_dict(data: dict[str, Any]) -> Song:
    if not isinstance(data, dict):
        raise ValueError("song must be an object")
    tempos = [TempoChange(_int(tick, "tempo tick"), _number(bpm)) for tick, bpm in data["tempos"]]
    signatures = [
        TimeSignature(
            _int(tick, "time signature tick"),
            _int(num, "time signature numerator"),
            _int(den, "time signature denominator"),
        )
        for tick, num, den in data["time_signatures"]
    ]
    tracks = [_track_from_dict(t, k) for k, t in enumerate(data["tracks"])]
    return Song(data["title"], data["ticks_per_beat"], tempos, signatures, tracks)


def _track_from_dict(data: dict[str, Any], index: int) -> Track:
    if not isinstance(data, dict):
        raise ValueError(f"track {index + 1} must be an object")
    columns = data["notes"]
    pitch = _column(columns["pitch"], "pitch")
    start = np.cumsum(_column(columns["start_delta"], "start_delta"))
    duration = _column(columns["duration"], "duration")
    velocity = _column(columns["velocity"], "velocity")
    if not (len(pitch) == len(start) == len(duration) == len(velocity)):
        raise ValueError(f"track {index + 1}: note columns have different lengths")
    try:
        notes = Notes(pitch, start, duration, velocity)
    except ValueError as exc:
        raise ValueError(f"track {index + 1}: {exc}") from None
    return Track(
        data["name"],
        data["program"],
        data["is_drum"],
        data["colour"],
        data.get("mute", False),
        data.get("solo", False),
        notes,
    )


def _column(values: Any, name: str) -> np.ndarray:
    if not isinstance(values, list):
        raise ValueError(f"note column {name!r} must be a list")
    array = np.asarray(values)
    if array.ndim != 1 or (len(values) and array.dtype.kind not in "iu"):
        raise ValueError(f"note column {name!r} must hold integers")
    return array.astype(np.int64)


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    return value


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"tempo must be a number, got {value!r}")
    return float(value)
