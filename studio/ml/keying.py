"""Keys for the engine: window key labels for training, and key post-processing.

Two ways a sample comes out in the key a composer asked for:

* **Key-conditioned models** (``ModelConfig.key_conditioning``) are told the key: the
  training windows carry their Krumhansl key (`window_key_labels`), transposed with the
  window's random transposition, and the network writes in the key it is given.
* **Models without key conditioning** are not: `keyed_variations` is *post-processing* —
  it estimates each drawn candidate's key, keeps candidates in the requested mode and
  transposes each to the requested tonic by the smallest shift that keeps every voice in
  its range. The network did not choose the key; the result says so.

A key-conditioned network does not always obey (a fine-tune of the bundled model with key
input wrote 63-94% of its samples in the key it was given: models/bach-default.md, "Stage 2
experiment"), so its candidates go through
`keyed_variations` too with ``exact=True``: a candidate is kept only when it came out in
the requested key itself, otherwise the variation draws its next candidate; only a
variation with none in the key after every round is transposed. The result says how many
variations needed a redraw or a transposition.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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


# Candidates per variation at most. The bundled model writes minor about 3 times in 10,
# and a draft in minor is finished in minor about half the time: 24 screened candidates
# leave about 1 variation in 50 without one (measured: see the README).
KEY_ROUNDS = 24
KEY_SEED_STRIDE = 1_000_003  # round r of variation seed s draws seed s + r * stride


def fit_song_to_key(
    song: Song, wanted: Key, ranges: Sequence[tuple[float, float]] | None = None
) -> tuple[Song, int, bool] | None:
    """(song moved to ``wanted``'s tonic, the shift, whether it was in ``wanted``'s mode);
    None for a silent song. The shift is the smallest that keeps every track in
    ``ranges`` (a shift that fits none: the smallest)."""
    scores = song_key_scores(song)
    if not np.any(scores):
        return None
    found = Key.from_index(int(np.argmax(scores)))
    in_mode = found.mode == wanted.mode
    if not in_mode:  # the best tonic of the wanted mode, for a fall-back
        base = 12 if wanted.mode == "minor" else 0
        found = Key(int(np.argmax(scores[base : base + 12])), wanted.mode)
    options = tonic_shifts(found, wanted)
    shift = next((v for v in options if _fits(song, v, ranges)), options[0])
    return transpose_song(song, shift), shift, in_mode


@dataclass
class KeyFit:
    """Variations moved into the wanted key, and what was done (for the user to read)."""

    songs: list[Song]
    shifts: list[int]
    in_mode: int  # how many variations were drawn in the wanted mode
    candidates: int  # how many candidates were drawn in all
    message: str


def keyed_variations(
    draw: Callable[[list[int]], list[Song]],
    seeds: Sequence[int],
    wanted: Key,
    ranges: Sequence[tuple[float, float]] | None = None,
    rounds: int = KEY_ROUNDS,
    screen: Callable[[list[int]], list[Song]] | None = None,
    exact: bool = False,
) -> KeyFit:
    """Post-processing of the key (see the module docstring).

    Variation seed ``s`` tries candidates ``s``, ``s + KEY_SEED_STRIDE``, … (at most
    ``rounds``) until one is in ``wanted``'s mode, and that candidate is transposed to
    ``wanted``'s tonic. ``draw`` makes one finished song per seed; ``screen`` (optional)
    a cheap draft per seed, so only candidates whose draft is in the mode are finished.
    A variation with no candidate in the mode keeps its first, transposed likewise, and
    the message says how many did. Each variation depends on its own seed alone.
    ``exact`` (a key-conditioned model, told the key): a candidate must come out in the
    wanted key itself, untransposed; a variation with none in ``rounds`` candidates keeps
    its first candidate moved to the key, as above.
    """
    pending = list(range(len(seeds)))
    chosen: dict[int, tuple[Song, int, bool]] = {}
    redrawn: set[int] = set()
    drawn = 0

    def cand(i: int, r: int) -> int:
        return int(seeds[i]) + r * KEY_SEED_STRIDE

    def accepted(fit: tuple[Song, int, bool] | None) -> bool:
        return fit is not None and fit[2] and (not exact or fit[1] % 12 == 0)

    for r in range(max(1, rounds)):
        if not pending:
            break
        trying = pending
        if screen is not None:
            drafts = screen([cand(i, r) for i in pending])
            trying = [
                i
                for i, song in zip(pending, drafts, strict=True)
                if accepted(fit_song_to_key(song, wanted))
            ]
        songs = draw([cand(i, r) for i in trying]) if trying else []
        drawn += len(songs)
        for i, song in zip(trying, songs, strict=True):
            fit = fit_song_to_key(song, wanted, ranges)
            if accepted(fit):
                assert fit is not None
                chosen[i] = fit
                if r:
                    redrawn.add(i)
        pending = [i for i in pending if i not in chosen]
    fallback = set(pending)
    if pending:  # no candidate in the mode: the first candidate, moved to the tonic
        songs = draw([cand(i, 0) for i in pending])
        drawn += len(songs)
        for i, song in zip(pending, songs, strict=True):
            chosen[i] = fit_song_to_key(song, wanted, ranges) or (song, 0, False)
    ordered = [chosen[i] for i in range(len(seeds))]
    in_mode = sum(1 for f in ordered if f[2])
    shifts = [f[1] for f in ordered]
    if exact:
        message = (
            f"key {wanted.name}: the network was given the key; "
            f"{len(ordered) - len(redrawn) - len(fallback)} of {len(ordered)} variations came "
            f"out in it at the first draw"
        )
        if redrawn:
            message += f", {len(redrawn)} at a later candidate (post-processing: redrawn)"
        if fallback:
            message += (
                f", {len(fallback)} transposed towards it (post-processing: none in {rounds} draws)"
            )
        return KeyFit([f[0] for f in ordered], shifts, in_mode, drawn, message)
    message = (
        f"key {wanted.name} by post-processing: this model has no key input, so each "
        f"variation is its first candidate (of up to {rounds}) written in {wanted.mode}, "
        f"transposed to {wanted.name} (shifts {', '.join(f'{v:+d}' for v in shifts)}; "
        f"{drawn} candidates finished)"
    )
    if in_mode < len(ordered):
        message += (
            f"; {len(ordered) - in_mode} of {len(ordered)} found no {wanted.mode} candidate and "
            f"were transposed anyway"
        )
    return KeyFit([f[0] for f in ordered], shifts, in_mode, drawn, message)
