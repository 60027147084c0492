"""Training data: MIDI files -> fixed-length multi-track piano-roll windows.

Pipeline: find files (a folder, recursive, or the bundled name ``bach-chorales``) ->
read each with the editor's own MIDI reader (`studio.core.midi_io`: the same note rules,
so a note never switched off is in the training data exactly as it is in the editor, and
the same limits on size, notes, tracks and ticks) -> map its tracks onto the dataset's
track layout -> keep note lists in step units. The parsed notes are cached on disk
under a key made of the files' content hashes, so re-opening a scanned folder only stats
and looks up files.
Windows are cut from the note lists at bar lines in any time signature: a window is a
fixed number of steps (the model's ``n_steps``: N bars of 4/4 by default) starting on a
bar line inside one stretch of one metre, and it carries that metre (numerator,
denominator) and its Krumhansl key, so one model learns from mixed metres and can be
told the key. Batches are rendered to frame/onset planes on the fly with random
transposition, so even a 10,000-file corpus never needs a dense roll of everything.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from studio.core.atomic import atomic_path, atomic_write_bytes
from studio.core.import_report import SongFileError
from studio.core.midi_io import parse_midi_with_report, read_midi_bytes
from studio.core.song import Song
from studio.ml.errors import DatasetError
from studio.ml.keying import window_key_labels
from studio.ml.metre import bar_steps_exact, fits_grid, metre_name
from studio.ml.phrases import (
    PHRASE_PLANES,
    PhraseFileError,
    cadence_positions,
    file_phrase_steps,
    window_marks,
)
from studio.paths import bach_dataset_dir, user_data_dir

BACH_NAME = "bach-chorales"
PARSER_VERSION = 4  # bump when parsing/mapping changes, so stale caches are ignored
MIDI_SUFFIXES = (".mid", ".midi", ".kar", ".smf")
Progress = Callable[[int, int], None]

# Track layouts. ``monophonic`` tracks are sampled with one pitch per step.
BACH_TRACKS: tuple[dict[str, Any], ...] = (
    {"name": "Soprano", "program": 52, "colour": "#4fc3f7", "monophonic": True},
    {"name": "Alto", "program": 52, "colour": "#ffb74d", "monophonic": True},
    {"name": "Tenor", "program": 52, "colour": "#81c784", "monophonic": True},
    {"name": "Bass", "program": 52, "colour": "#e57373", "monophonic": True},
)
# MuseGAN's five tracks (Dong et al., AAAI 2018), grouped by General MIDI program family.
MUSEGAN_TRACKS: tuple[dict[str, Any], ...] = (
    {"name": "Drums", "program": 0, "colour": "#fff176", "monophonic": False, "is_drum": True},
    {"name": "Piano", "program": 0, "colour": "#4fc3f7", "monophonic": False},
    {"name": "Guitar", "program": 24, "colour": "#81c784", "monophonic": False},
    {"name": "Bass", "program": 33, "colour": "#e57373", "monophonic": False},
    {"name": "Strings", "program": 48, "colour": "#ba68c8", "monophonic": False},
)
PIANO_TRACKS: tuple[dict[str, Any], ...] = (
    {"name": "Piano", "program": 0, "colour": "#4fc3f7", "monophonic": False},
)
LAYOUTS = {"bach": BACH_TRACKS, "musegan": MUSEGAN_TRACKS, "piano": PIANO_TRACKS}


def layout_templates(mapping: str) -> list[dict[str, Any]]:
    if mapping not in LAYOUTS:
        raise DatasetError(f"unknown track mapping {mapping!r}; use one of {sorted(LAYOUTS)}")
    return [dict(t) for t in LAYOUTS[mapping]]


# ----------------------------------------------------------------------------- sources
def bach_dir() -> Path:
    return Path(bach_dataset_dir())


def default_cache_dir() -> Path:
    return Path(user_data_dir()) / "dataset-cache"


def resolve_source(source: str | os.PathLike[str]) -> tuple[Path, str]:
    """(folder, default mapping) for a folder path or the bundled dataset name."""
    if str(source) == BACH_NAME:
        folder = bach_dir()
        if not folder.is_dir():
            raise DatasetError(f"the bundled Bach chorales are missing (expected {folder})")
        return folder, "bach"
    folder = Path(source).expanduser()
    if not folder.exists():
        raise DatasetError(f"dataset folder not found: {folder}")
    if not folder.is_dir():
        raise DatasetError(f"dataset must be a folder of MIDI files, got a file: {folder}")
    return folder, "auto"


def detect_mapping(files: Sequence[Path], probe: int = 8) -> str:
    """``bach`` when the first files are four-voice SATB scores, else ``musegan``."""
    looked = 0
    for path in files[:probe]:
        try:
            song = _read_song(read_midi_bytes(path), path)
        except SongFileError:  # unreadable files are reported later, when parsed
            continue
        looked += 1
        voices = [t for t in song.tracks if not t.is_drum and len(t.notes)]
        letters = sorted((t.name or "?").strip()[:1].lower() for t in voices)
        if letters != ["a", "b", "s", "t"]:
            return "musegan"
    return "bach" if looked else "musegan"


def find_midi_files(folder: Path) -> list[Path]:
    files = [
        p
        for p in folder.rglob("*")
        if p.suffix.lower() in MIDI_SUFFIXES and p.is_file() and not p.name.startswith(".")
    ]
    return sorted(files)


def read_split(folder: Path) -> set[str]:
    """Names (stems) of held-out files listed in ``split.json`` (never trained on)."""
    path = folder / "split.json"
    if not path.is_file():
        return set()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{path}: unreadable split file ({exc})") from exc
    names: list[str] = []
    if isinstance(data, dict):
        for key in ("heldout", "held_out", "test", "eval", "validation"):
            value = data.get(key)
            if isinstance(value, list):
                names.extend(str(v) for v in value)
    elif isinstance(data, list):
        names = [str(v) for v in data]
    return {Path(n).stem for n in names}


# ----------------------------------------------------------------------------- parsing
@dataclass
class ParsedFile:
    """One file's notes mapped onto the layout, in steps (sorted by start)."""

    track: np.ndarray  # int8
    pitch: np.ndarray  # int8
    start: np.ndarray  # int32 steps
    end: np.ndarray  # int32 steps (exclusive)
    ts: np.ndarray  # int32 [k, 3]: start step, numerator, denominator
    programs: np.ndarray  # int16 [tracks]: program seen for each layout track (-1 none)


def _map_tracks(tracks: list[tuple[str, int, bool]], mapping: str) -> list[int]:
    """Layout track index (or -1 to drop) for each (name, program, is_drum) of a file."""
    if mapping == "piano":
        return [-1 if drum else 0 for _, _, drum in tracks]
    if mapping == "bach":
        out: list[int] = []
        by_letter = {"s": 0, "a": 1, "t": 2, "b": 3}
        names = [n.strip().lower() for n, _, _ in tracks]
        for n in names:
            out.append(by_letter.get(n[:1], -1) if n else -1)
        voices = [k for k, (_, _, drum) in enumerate(tracks) if not drum]
        if sorted(v for v in out if v >= 0) != [0, 1, 2, 3] and len(voices) == 4:
            out = [-1] * len(tracks)
            for voice, k in enumerate(voices):
                out[k] = voice
        if sorted(v for v in out if v >= 0) != [0, 1, 2, 3]:
            raise ValueError(
                f"expected 4 voices (Soprano, Alto, Tenor, Bass), found {len(tracks)} tracks"
            )
        return out
    out = []
    for name, program, drum in tracks:
        n = name.lower()
        if drum or "drum" in n:
            out.append(0)
        elif "bass" in n or 32 <= program <= 39:
            out.append(3)
        elif "guitar" in n or 24 <= program <= 31:
            out.append(2)
        elif "piano" in n or "keys" in n or program <= 23:
            out.append(1)
        else:
            out.append(4)
    return out


def _read_song(data: bytes, source: str | os.PathLike[str]) -> Song:
    return parse_midi_with_report(data, source, default_title="")[0]


def read_training_file(
    data: bytes,
    mapping: str,
    steps_per_beat: int,
    n_tracks: int,
    source: str | os.PathLike[str] = "<bytes>",
) -> ParsedFile:
    """One MIDI file's notes on the layout's tracks, in steps, read by the editor's reader.

    Raises `SongFileError` for a file the editor would refuse and ValueError for one that
    does not fit the layout; the caller records the reason and skips the file.
    """
    song = _read_song(data, source)
    return song_to_parsed(song, mapping, steps_per_beat, n_tracks)


def song_to_parsed(song: Song, mapping: str, steps_per_beat: int, n_tracks: int) -> ParsedFile:
    """A song's notes on the layout's tracks, rounded to steps (a note keeps one step)."""
    tpq = song.ticks_per_beat
    raw = [(t.name, t.program, t.is_drum) for t in song.tracks]
    mapped = _map_tracks(raw, mapping)
    cols: list[tuple[np.ndarray, ...]] = []
    programs = np.full(n_tracks, -1, dtype=np.int16)
    for t, target in zip(song.tracks, mapped, strict=True):
        if target < 0 or target >= n_tracks or not len(t.notes):
            continue
        if programs[target] < 0:
            programs[target] = t.program
        notes = t.notes
        start = np.rint(notes.start * steps_per_beat / tpq).astype(np.int64)
        end = np.rint((notes.start + notes.duration) * steps_per_beat / tpq).astype(np.int64)
        end = np.maximum(end, start + 1)
        cols.append((np.full(len(start), target, np.int8), notes.pitch.astype(np.int8), start, end))
    if not cols:
        raise ValueError("no notes in any usable track")
    track, pitch, start, end = (np.concatenate(c) for c in zip(*cols, strict=True))
    if int(end.max()) > np.iinfo(np.int32).max:  # the reader's tick limit keeps this far off
        raise ValueError("the piece is too long for the training data")
    order = np.lexsort((pitch, track, start))
    ts = np.array(
        [
            [round(s.tick * steps_per_beat / tpq), s.numerator, s.denominator]
            for s in song.time_signatures
        ],
        dtype=np.int64,
    ).astype(np.int32)
    return ParsedFile(
        track[order],
        pitch[order],
        start[order].astype(np.int32),
        end[order].astype(np.int32),
        ts,
        programs,
    )


# ----------------------------------------------------------------------------- cache
def _file_hashes(files: Sequence[Path], cache_dir: Path, progress: Progress | None) -> list[str]:
    """Content hash of each file, reusing hashes of files whose size and mtime are unchanged."""
    index_path = cache_dir / "hash-index.json"
    try:
        index: dict[str, list[Any]] = json.loads(index_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        index = {}
    out: list[str] = []
    changed = False
    for k, path in enumerate(files):
        st = path.stat()
        key = str(path.resolve())
        entry = index.get(key)
        if entry and entry[0] == st.st_size and entry[1] == st.st_mtime_ns:
            out.append(entry[2])
        else:
            digest = hashlib.sha1(path.read_bytes()).hexdigest()
            index[key] = [st.st_size, st.st_mtime_ns, digest]
            out.append(digest)
            changed = True
        if progress and (k % 256 == 0):
            progress(k, len(files) * 2)
    if changed:
        _atomic_write_bytes(index_path, json.dumps(index).encode("utf-8"))
    return out


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, data)


@dataclass
class ParsedCorpus:
    """Every usable file's notes, concatenated, plus the skipped files' reasons."""

    names: list[str]  # relative paths of usable files
    offsets: np.ndarray  # int64 [files+1] into the note columns
    track: np.ndarray
    pitch: np.ndarray
    start: np.ndarray
    end: np.ndarray
    ts_offsets: np.ndarray  # int64 [files+1] into ts
    ts: np.ndarray  # int32 [k, 3]
    programs: np.ndarray  # int16 [files, tracks]
    skipped: list[tuple[str, str]]
    fingerprint: str

    def to_npz(self, path: Path) -> None:
        meta = json.dumps({"names": self.names, "skipped": self.skipped, "fp": self.fingerprint})
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            self._save(tmp, meta)

    def _save(self, tmp: Path, meta: str) -> None:
        np.savez(
            tmp,
            meta=np.frombuffer(meta.encode("utf-8"), dtype=np.uint8),
            offsets=self.offsets,
            track=self.track,
            pitch=self.pitch,
            start=self.start,
            end=self.end,
            ts_offsets=self.ts_offsets,
            ts=self.ts,
            programs=self.programs,
        )

    @classmethod
    def from_npz(cls, path: Path) -> ParsedCorpus:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(bytes(z["meta"]).decode("utf-8"))
            return cls(
                meta["names"],
                z["offsets"],
                z["track"],
                z["pitch"],
                z["start"],
                z["end"],
                z["ts_offsets"],
                z["ts"],
                z["programs"],
                [tuple(s) for s in meta["skipped"]],
                meta["fp"],
            )


def parse_corpus(
    folder: Path,
    mapping: str,
    steps_per_beat: int = 4,
    cache_dir: Path | None = None,
    progress: Progress | None = None,
    use_cache: bool = True,
) -> ParsedCorpus:
    files = find_midi_files(folder)
    if not files:
        raise DatasetError(f"no MIDI files (.mid/.midi) found in {folder}")
    n_tracks = len(layout_templates(mapping))
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    hashes = _file_hashes(files, cache_dir, progress)
    rel = [str(p.relative_to(folder)) for p in files]
    key_src = json.dumps(
        [PARSER_VERSION, mapping, steps_per_beat, sorted(zip(rel, hashes, strict=True))]
    )
    fingerprint = hashlib.sha1(key_src.encode("utf-8")).hexdigest()[:16]
    cache_path = cache_dir / f"corpus-{fingerprint}.npz"
    if use_cache and cache_path.is_file():
        try:
            corpus = ParsedCorpus.from_npz(cache_path)
            if progress:
                progress(len(files) * 2, len(files) * 2)
            return corpus
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache is rebuilt below
    parsed: list[ParsedFile] = []
    names: list[str] = []
    skipped: list[tuple[str, str]] = []
    for k, (path, name) in enumerate(zip(files, rel, strict=True)):
        try:
            data = read_midi_bytes(path)
            parsed.append(read_training_file(data, mapping, steps_per_beat, n_tracks, path))
            names.append(name)
        except SongFileError as exc:  # the editor's reason, without the path repeated
            skipped.append((name, exc.reason))
        except Exception as exc:  # any other failure is a per-file skip reason too
            skipped.append((name, str(exc).strip().splitlines()[0] if str(exc) else repr(exc)))
        if progress and (k % 32 == 0 or k == len(files) - 1):
            progress(len(files) + k + 1, len(files) * 2)
    counts = np.array([len(p.start) for p in parsed], dtype=np.int64)
    ts_counts = np.array([len(p.ts) for p in parsed], dtype=np.int64)

    def cat(attr: str, dtype: Any, shape: tuple[int, ...] = (0,)) -> np.ndarray:
        if not parsed:
            return np.zeros(shape, dtype=dtype)
        return np.concatenate([getattr(p, attr) for p in parsed]).astype(dtype)

    corpus = ParsedCorpus(
        names,
        np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        cat("track", np.int8),
        cat("pitch", np.int8),
        cat("start", np.int32),
        cat("end", np.int32),
        np.concatenate([[0], np.cumsum(ts_counts)]).astype(np.int64),
        cat("ts", np.int32, (0, 3)),
        (np.stack([p.programs for p in parsed]) if parsed else np.zeros((0, n_tracks), np.int16)),
        skipped,
        fingerprint,
    )
    if use_cache:
        with contextlib.suppress(OSError):  # a read-only cache dir only costs speed
            corpus.to_npz(cache_path)
    return corpus


# ----------------------------------------------------------------------------- windows
@dataclass
class WindowSet:
    """Windows as note lists relative to each window's start (rendered per batch)."""

    n_tracks: int
    n_steps: int
    offsets: np.ndarray  # int64 [W+1]
    track: np.ndarray  # int64
    pitch: np.ndarray  # int64
    start: np.ndarray  # int64, may be < 0 for a note tied in from before the window
    end: np.ndarray  # int64, may be > n_steps
    lo: np.ndarray  # lowest pitch per window
    hi: np.ndarray  # highest pitch per window
    file_index: np.ndarray  # which usable file each window came from
    # [W, 2] numerator, denominator of each window's metre (the window starts on its bar
    # line); [W] each window's Krumhansl key label (`Key.index`, -1 when silent/unclear).
    metre: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.int64))
    key: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    origin: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # [W] first step
    # [W, PHRASE_PLANES, steps] phrase marks (`studio.ml.phrases`; empty: unknown everywhere).
    phrase: np.ndarray = field(default_factory=lambda: np.zeros((0, 2, 0), np.float32))

    def phrases_of(self, indices: np.ndarray) -> np.ndarray:
        """``[B, PHRASE_PLANES, steps]`` phrase marks of some windows (zeros: unknown)."""
        indices = np.asarray(indices, dtype=np.int64)
        if len(self.phrase) != len(self):
            return np.zeros((len(indices), PHRASE_PLANES, self.n_steps), np.float32)
        return self.phrase[indices]

    def metres_of(self, indices: np.ndarray, default: tuple[int, int] = (4, 4)) -> np.ndarray:
        """``[B, 2]`` metres of some windows (``default`` for a set cut without them)."""
        indices = np.asarray(indices, dtype=np.int64)
        if len(self.metre) != len(self):
            return np.tile(np.asarray(default, np.int64), (len(indices), 1))
        return self.metre[indices]

    def keys_of(self, indices: np.ndarray, shifts: np.ndarray | None = None) -> np.ndarray:
        """``[B]`` key labels of some windows, transposed with them by ``shifts``."""
        indices = np.asarray(indices, dtype=np.int64)
        if len(self.key) != len(self):
            return np.full(len(indices), -1, np.int64)
        keys = self.key[indices]
        if shifts is None:
            return keys
        shifted = (keys % 12 + np.asarray(shifts, np.int64)) % 12 + 12 * (keys // 12)
        return np.where(keys >= 0, shifted, -1)

    def metre_counts(self) -> dict[str, int]:
        """Windows per metre, most common first (``{"4/4": 310, "3/4": 52}``)."""
        counts: dict[str, int] = {}
        for num, den in self.metre.tolist():
            name = metre_name((num, den))
            counts[name] = counts.get(name, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def render(
        self,
        indices: np.ndarray,
        lowest_pitch: int,
        n_pitches: int,
        shifts: np.ndarray | None = None,
    ) -> np.ndarray:
        """int8 rolls ``[B, tracks, steps, pitches]`` (OFF/HOLD/ONSET) for some windows."""
        indices = np.asarray(indices, dtype=np.int64)
        b = len(indices)
        roll = np.zeros((b, self.n_tracks, self.n_steps, n_pitches), dtype=np.int8)
        lens = self.offsets[indices + 1] - self.offsets[indices]
        rows = np.repeat(self.offsets[indices] - np.cumsum(lens) + lens, lens) + np.arange(
            int(lens.sum())
        )
        batch = np.repeat(np.arange(b), lens)
        shift = np.zeros(b, np.int64) if shifts is None else np.asarray(shifts, np.int64)
        row = self.pitch[rows] + shift[batch] - lowest_pitch
        keep = (row >= 0) & (row < n_pitches)
        rows, batch, row = rows[keep], batch[keep], row[keep]
        s = self.start[rows]
        e = np.minimum(self.end[rows], self.n_steps)
        inside = s >= 0
        s = np.maximum(s, 0)
        lengths = np.maximum(e - s, 0)
        total = int(lengths.sum())
        offs = np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        roll[
            np.repeat(batch, lengths),
            np.repeat(self.track[rows], lengths),
            np.repeat(s, lengths) + offs,
            np.repeat(row, lengths),
        ] = 1
        roll[batch[inside], self.track[rows][inside], s[inside], row[inside]] = 2
        return roll

    def random_shifts(
        self,
        indices: np.ndarray,
        max_shift: int,
        lowest_pitch: int,
        n_pitches: int,
        uniform: np.ndarray,
    ) -> np.ndarray:
        """Transpositions in [-max_shift, max_shift] that keep each window inside the range.

        ``uniform`` holds one U(0,1) draw per window, so the caller owns the randomness.
        """
        lo = np.maximum(-max_shift, lowest_pitch - self.lo[indices])
        hi = np.minimum(max_shift, lowest_pitch + n_pitches - 1 - self.hi[indices])
        hi = np.maximum(hi, lo)
        return (lo + np.floor(uniform * (hi - lo + 1))).astype(np.int64)


def steps_per_bar(time_signature: tuple[int, int], steps_per_beat: int) -> int:
    num, den = time_signature
    value = num * steps_per_beat * 4 / den
    if value != int(value):
        raise DatasetError(f"time signature {num}/{den} does not fit a {steps_per_beat}-step beat")
    return int(value)


def default_window_steps(bars: int, steps_per_beat: int) -> int:
    """A mixed-metre window: ``bars`` bars of 4/4 (the bar count a user picks, in quarters)."""
    return bars * 4 * steps_per_beat


def cut_windows(
    corpus: ParsedCorpus,
    file_rows: Sequence[int],
    n_tracks: int,
    bars: int,
    steps_per_beat: int,
    time_signature: tuple[int, int] | None,
    hop_bars: int = 1,
    min_notes: int = 4,
    n_steps: int | None = None,
) -> tuple[WindowSet, int]:
    """Windows of ``n_steps`` steps, each starting on a bar line of its stretch's metre.

    ``time_signature`` keeps only stretches in that metre (and, without ``n_steps``,
    makes windows exactly ``bars`` of its bars); None takes every metre whose bars fall on
    the step grid, with ``n_steps`` defaulting to ``bars`` bars of 4/4. A window never
    crosses a change of time signature. Each window records its metre and Krumhansl key.
    Returns the windows and how many candidate windows the empty-window filter dropped.
    """
    if n_steps is None:
        n_steps = (
            bars * steps_per_bar(time_signature, steps_per_beat)
            if time_signature is not None
            else default_window_steps(bars, steps_per_beat)
        )
    wanted = tuple(time_signature) if time_signature is not None else None
    parts: dict[str, list[np.ndarray]] = {
        k: []
        for k in (
            "track",
            "pitch",
            "start",
            "end",
            "lo",
            "hi",
            "file",
            "count",
            "metre",
            "pc",
            "origin",
        )
    }
    dropped = 0
    for f in file_rows:
        a, b = corpus.offsets[f], corpus.offsets[f + 1]
        start, end = corpus.start[a:b].astype(np.int64), corpus.end[a:b].astype(np.int64)
        song_end = int(end.max()) if len(end) else 0
        ts = corpus.ts[corpus.ts_offsets[f] : corpus.ts_offsets[f + 1]]
        win_starts: list[int] = []
        win_metres: list[tuple[int, int]] = []
        for k, (t0, num, den) in enumerate(ts):
            metre = (int(num), int(den))
            if wanted is not None and metre != wanted:
                continue
            if not fits_grid(metre, steps_per_beat):
                continue  # e.g. 3/32 on a 4-per-quarter grid: bar lines fall between steps
            spb = int(bar_steps_exact(metre, steps_per_beat))
            t1 = int(ts[k + 1, 0]) if k + 1 < len(ts) else song_end
            found = range(int(t0), t1 - n_steps + 1, hop_bars * spb)
            win_starts.extend(found)
            win_metres.extend([metre] * len(found))
        if not win_starts:
            continue
        ws = np.array(win_starts, dtype=np.int64)
        # Notes overlapping each window: start < w + n and end > w (start-sorted).
        hi_idx = np.searchsorted(start, ws + n_steps, side="left")
        max_len = int((end - start).max())
        lo_idx = np.searchsorted(start, ws - max_len, side="left")
        for w, metre, i0, i1 in zip(ws, win_metres, lo_idx, hi_idx, strict=True):
            sel = np.arange(i0, i1)
            sel = sel[end[sel] > w]
            if len(sel) < min_notes:
                dropped += 1
                continue
            p = corpus.pitch[a:b][sel].astype(np.int64)
            s_rel, e_rel = start[sel] - w, end[sel] - w
            heard = np.minimum(e_rel, n_steps) - np.maximum(s_rel, 0)
            parts["track"].append(corpus.track[a:b][sel].astype(np.int64))
            parts["pitch"].append(p)
            parts["start"].append(s_rel)
            parts["end"].append(e_rel)
            parts["lo"].append(np.array([p.min()]))
            parts["hi"].append(np.array([p.max()]))
            parts["file"].append(np.array([f]))
            parts["count"].append(np.array([len(sel)]))
            parts["metre"].append(np.array(metre, np.int64))
            parts["origin"].append(np.array([w]))
            parts["pc"].append(np.bincount(p % 12, weights=heard, minlength=12)[:12])

    def cat(key: str) -> np.ndarray:
        return np.concatenate(parts[key]).astype(np.int64) if parts[key] else np.zeros(0, np.int64)

    counts = cat("count")
    metres = np.stack(parts["metre"]) if parts["metre"] else np.zeros((0, 2), np.int64)
    keys = window_key_labels(np.stack(parts["pc"])) if parts["pc"] else np.zeros(0, np.int64)
    windows = WindowSet(
        n_tracks,
        n_steps,
        np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        cat("track"),
        cat("pitch"),
        cat("start"),
        cat("end"),
        cat("lo"),
        cat("hi"),
        cat("file"),
        metres,
        keys,
        cat("origin"),
    )
    return windows, dropped


def model_pitch_window(lo: int, hi: int, margin: int = 3, multiple: int = 16) -> tuple[int, int]:
    """(lowest pitch, n pitches): the data's range plus a margin, rounded up for pooling."""
    need = hi - lo + 1 + 2 * margin
    n = int(np.ceil(need / multiple) * multiple)
    n = min(n, 128)
    lowest = int(np.clip(lo - margin - (n - need) // 2, 0, 128 - n))
    return lowest, n


# ----------------------------------------------------------------------------- scan
@dataclass
class DatasetScan:
    """What a dataset holds, as shown to the user before training."""

    source: str
    files_found: int
    windows: int
    tracks: list[str]
    pitch_range: tuple[int, int]
    skipped: list[tuple[str, str]]
    mapping: str = "bach"
    bars: int = 4
    steps_per_beat: int = 4
    # The metre a song written by the model gets by default: the one asked for, else the
    # most common training metre; ``metres`` counts training windows per metre.
    time_signature: tuple[int, int] = (4, 4)
    heldout_files: int = 0
    heldout_windows: int = 0
    empty_windows_dropped: int = 0
    fingerprint: str = ""
    seconds: float = 0.0
    templates: list[dict[str, Any]] = field(default_factory=list)
    metres: dict[str, int] = field(default_factory=dict)
    any_metre: bool = True
    # Files whose phrase ends (fermatas) the folder's phrases.json gives, and where in
    # the bar they fall most often per metre (`studio.ml.phrases.cadence_positions`).
    phrase_files: int = 0
    cadence_positions: dict[str, int] = field(default_factory=dict)
    train_set: WindowSet | None = field(default=None, repr=False)
    heldout_set: WindowSet | None = field(default=None, repr=False)

    def summary(self) -> dict[str, Any]:
        """A JSON-friendly summary (for the GUI, logs and checkpoint metadata)."""
        return {
            "source": self.source,
            "files_found": self.files_found,
            "files_used": self.files_found - len(self.skipped),
            "windows": self.windows,
            "heldout_files": self.heldout_files,
            "heldout_windows": self.heldout_windows,
            "tracks": list(self.tracks),
            "pitch_range": list(self.pitch_range),
            "skipped": len(self.skipped),
            "mapping": self.mapping,
            "bars": self.bars,
            "time_signature": list(self.time_signature),
            "metres": dict(self.metres),
            "steps_per_beat": self.steps_per_beat,
            "phrase_files": self.phrase_files,
            "cadence_positions": dict(self.cadence_positions),
            "fingerprint": self.fingerprint,
        }


def scan_dataset(
    source: str | os.PathLike[str],
    progress: Progress | None = None,
    *,
    mapping: str = "auto",
    bars: int = 4,
    steps_per_beat: int = 4,
    time_signature: tuple[int, int] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    hop_bars: int = 1,
    min_notes: int = 4,
    use_cache: bool = True,
    n_steps: int | None = None,
) -> DatasetScan:
    """Scan a folder (or ``bach-chorales``) into training and held-out windows.

    ``mapping``: ``auto`` (Bach voices for the bundled set and for folders of
    Soprano/Alto/Tenor/Bass scores, MuseGAN's five program families otherwise),
    ``bach``, ``musegan`` or ``piano`` (every pitched track merged).
    ``time_signature``: None (every metre, windows of ``bars`` bars of 4/4 or
    ``n_steps`` steps, each on a bar line of its own metre) or one metre only (windows of
    ``bars`` of its bars: what models before metre conditioning were trained on).
    ``progress(done, total)`` is called as files are hashed and parsed. Files listed in
    the folder's ``split.json`` go to the held-out set and are never trained on.
    """
    t0 = time.perf_counter()
    folder, default_mapping = resolve_source(source)
    if mapping == "auto":
        mapping = default_mapping
    if mapping == "auto":
        mapping = detect_mapping(find_midi_files(folder))
    templates = layout_templates(mapping)
    corpus = parse_corpus(
        folder, mapping, steps_per_beat, Path(cache_dir) if cache_dir else None, progress, use_cache
    )
    files_found = len(corpus.names) + len(corpus.skipped)
    if not corpus.names:
        reasons = "; ".join(f"{n}: {r}" for n, r in corpus.skipped[:3])
        raise DatasetError(
            f"no usable MIDI in {folder} ({files_found} files skipped: {reasons})",
            list(corpus.skipped),
        )
    heldout_names = read_split(folder)
    held = [k for k, n in enumerate(corpus.names) if Path(n).stem in heldout_names]
    train_rows = [
        k for k in range(len(corpus.names)) if Path(corpus.names[k]).stem not in heldout_names
    ]
    any_metre = time_signature is None
    args = (len(templates), bars, steps_per_beat, time_signature, hop_bars, min_notes, n_steps)
    train_set, dropped = cut_windows(corpus, train_rows, *args)
    held_set, _ = cut_windows(corpus, held, *args)
    if len(train_set) == 0:
        if time_signature is not None:
            where = f"{bars}-bar windows in {metre_name(time_signature)} time"
            other = "or in another time signature"
        else:
            where = f"windows of {train_set.n_steps} steps ({bars} bars of 4/4)"
            other = f"or in metres whose bars miss a {steps_per_beat}-per-quarter grid"
        raise DatasetError(
            f"no {where} in {folder}: the pieces are shorter than the model's window {other}"
        )
    try:
        per_file = file_phrase_steps(folder, corpus.names, steps_per_beat)
    except PhraseFileError as exc:
        raise DatasetError(str(exc)) from exc
    for windows in (train_set, held_set):
        windows.phrase = window_marks(
            per_file, windows.file_index, windows.origin, windows.n_steps, steps_per_beat
        )
    ts_per_file = [
        corpus.ts[corpus.ts_offsets[f] : corpus.ts_offsets[f + 1]] for f in range(len(corpus.names))
    ]
    metres = train_set.metre_counts()
    if time_signature is None:
        num, den = next(iter(metres)).split("/")
        time_signature = (int(num), int(den))
    # Programs: the most common program each layout track had in the data.
    for k, template in enumerate(templates):
        seen = corpus.programs[:, k] if len(corpus.programs) else np.zeros(0)
        seen = seen[seen >= 0]
        if len(seen) and not template.get("is_drum"):
            template["program"] = int(np.bincount(seen).argmax())
    pitches = train_set.pitch
    return DatasetScan(
        source=str(source),
        files_found=files_found,
        windows=len(train_set),
        tracks=[t["name"] for t in templates],
        pitch_range=(int(pitches.min()), int(pitches.max())),
        skipped=list(corpus.skipped),
        mapping=mapping,
        bars=bars,
        steps_per_beat=steps_per_beat,
        time_signature=tuple(time_signature),
        heldout_files=len(held),
        heldout_windows=len(held_set),
        empty_windows_dropped=dropped,
        fingerprint=corpus.fingerprint,
        seconds=time.perf_counter() - t0,
        templates=templates,
        metres=metres,
        any_metre=any_metre,
        phrase_files=sum(1 for f in train_rows if per_file[f] is not None),
        cadence_positions=cadence_positions(
            [per_file[f] for f in train_rows], [ts_per_file[f] for f in train_rows], steps_per_beat
        ),
        train_set=train_set,
        heldout_set=held_set,
    )
