"""Keys for the engine: window key labels for training, and key post-processing.

Two ways a sample comes out in the key a composer asked for:

* **Key-conditioned models** (``ModelConfig.key_conditioning``) are told the key: the
  training windows carry their Krumhansl key (`window_key_labels`), transposed with the
  window's random transposition, and the network writes in the key it is given.
* **Models without key conditioning** (the bundled ``pianola-cgan-1`` model) are not:
  `fit_to_key` is *post-processing* — it estimates each drawn candidate's key, keeps
  candidates in the requested mode and transposes each to the requested tonic by the
  smallest shift that keeps every voice in its range. The network did not choose the key;
  the result says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from studio.core.keys import MAJOR_PROFILE, MINOR_PROFILE, Key, key_scores, pitch_class_weights
from studio.core.song import Notes, Song


def _centred_profiles() -> np.ndarray:
    """``[24, 12]`` key profiles (index as `Key.index`), centred and unit length."""
    rows = [
        np.roll(profile, tonic) for profile in (MAJOR_PROFILE, MINOR_PROFILE) for tonic in range(12)
    ]
    prof = np.asarray(rows, dtype=float)
    prof = prof - prof.mean(axis=1, keepdims=True)
    return prof / np.linalg.norm(prof, axis=1, keepdims=True)


_PROFILES = _centred_profiles()


def window_key_labels(histograms: np.ndarray) -> np.ndarray:
    """Krumhansl key label (`Key.index`) of each 12-bin histogram ``[W, 12]``; -1 when a
    histogram is silent or flat. Equals `studio.core.keys.estimate_key` (Pearson
    correlation is the dot product of centred unit vectors), vectorised for many windows."""
    h = np.asarray(histograms, dtype=float).reshape(-1, 12)
    centred = h - h.mean(axis=1, keepdims=True)
    norm = np.linalg.norm(centred, axis=1)
    flat = norm <= 1e-12 * np.maximum(1.0, np.abs(h).max(axis=1))
    scores = centred @ _PROFILES.T  # argmax unaffected by the row's (positive) norm
    labels = scores.argmax(axis=1).astype(np.int64)
    labels[flat | ~(h > 0).any(axis=1)] = -1
    return labels


def song_key_scores(song: Song, tracks: Sequence[int] | None = None) -> np.ndarray:
    """The 24 key correlations of a song's pitched notes (duration-weighted)."""
    chosen = range(len(song.tracks)) if tracks is None else tracks
    pitches, lengths = [], []
    for k in chosen:
        track = song.tracks[k]
        if track.is_drum or not len(track.notes):
            continue
        pitches.append(track.notes.pitch)
        lengths.append(track.notes.duration)
    if not pitches:
        return np.zeros(24)
    return key_scores(pitch_class_weights(np.concatenate(pitches), np.concatenate(lengths)))


def song_key(song: Song, tracks: Sequence[int] | None = None) -> Key | None:
    scores = song_key_scores(song, tracks)
    return Key.from_index(int(np.argmax(scores))) if np.any(scores) else None


def tonic_shifts(found: Key, wanted: Key, widest: int = 12) -> list[int]:
    """Semitone shifts that move ``found``'s tonic onto ``wanted``'s, smallest first."""
    d = (wanted.tonic - found.tonic) % 12
    shifts = {d + 12 * k for k in range(-2, 3) if abs(d + 12 * k) <= widest}
    return sorted(shifts, key=lambda v: (abs(v), v))


def transpose_song(song: Song, shift: int) -> Song:
    """A copy of ``song`` with every pitched note moved ``shift`` semitones."""
    out = song.copy()
    for track in out.tracks:
        if track.is_drum or not len(track.notes) or not shift:
            continue
        n = track.notes
        track.notes = Notes(
            n.pitch.astype(np.int64) + shift, n.start, n.duration, n.velocity, n.ids
        )
    return out


def _fits(song: Song, shift: int, ranges: Sequence[tuple[float, float]] | None) -> bool:
    for k, track in enumerate(song.tracks):
        if track.is_drum or not len(track.notes):
            continue
        lo = int(track.notes.pitch.min()) + shift
        hi = int(track.notes.pitch.max()) + shift
        if lo < 0 or hi > 127:
            return False
        if ranges is not None and k < len(ranges):
            r_lo, r_hi = ranges[k]
            if lo < r_lo or hi > r_hi:
                return False
    return True


@dataclass
class KeyFit:
    """Songs moved into the wanted key, and what was done (for the user to read)."""

    songs: list[Song]
    shifts: list[int]
    in_mode: int  # how many of ``songs`` were drawn in the wanted mode
    candidates: int  # how many candidates were looked at
    message: str


def fit_to_key(
    candidates: Sequence[Song],
    wanted: Key,
    count: int,
    ranges: Sequence[tuple[float, float]] | None = None,
) -> KeyFit:
    """Post-processing for models without key conditioning (see the module docstring).

    Keeps up to ``count`` candidates whose estimated mode is ``wanted.mode`` (in draw
    order, so seeds stay meaningful) and transposes each to ``wanted``'s tonic by the
    smallest shift keeping every track inside ``ranges`` (per-track MIDI (lo, hi), e.g. the
    voices' training ranges; a shift that fits none keeps the smallest). When too few are
    in the mode, the rest are filled from the candidates that score best in the wanted
    key after transposition, and the message says how many.
    """
    fits: list[tuple[int, Song, int, bool]] = []  # (candidate index, song, shift, in mode)
    for k, song in enumerate(candidates):
        scores = song_key_scores(song)
        if not np.any(scores):
            continue
        found = Key.from_index(int(np.argmax(scores)))
        in_mode = found.mode == wanted.mode
        if not in_mode:
            # The best tonic of the wanted mode, for the fall-back fill.
            base = 12 if wanted.mode == "minor" else 0
            found = Key(int(np.argmax(scores[base : base + 12])), wanted.mode)
        options = tonic_shifts(found, wanted)
        shift = next((s for s in options if _fits(song, s, ranges)), options[0])
        fits.append((k, song, shift, in_mode))
    chosen = [f for f in fits if f[3]][:count]
    if len(chosen) < count:
        rest = [f for f in fits if not f[3]]
        rest.sort(key=lambda f: -song_key_scores(transpose_song(f[1], f[2]))[wanted.index])
        chosen += rest[: count - len(chosen)]
        chosen.sort(key=lambda f: f[0])
    in_mode = sum(1 for f in chosen if f[3])
    songs = [transpose_song(song, shift) for _, song, shift, _ in chosen]
    message = (
        f"key {wanted.name} by post-processing: this model has no key input, so "
        f"{len(candidates)} candidates were drawn, {in_mode} of the {len(songs)} kept were "
        f"written in {wanted.mode} and each was transposed to {wanted.name} "
        f"(shifts {', '.join(f'{s:+d}' for _, _, s, _ in chosen) or 'none'})"
    )
    if in_mode < len(songs):
        message += (
            f"; {len(songs) - in_mode} came out in the other mode and may not sound {wanted.mode}"
        )
    return KeyFit(songs, [s for _, _, s, _ in chosen], in_mode, len(candidates), message)
