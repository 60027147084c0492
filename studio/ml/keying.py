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

from studio.core.keys import CENTRED_PROFILES, Key, key_scores, pitch_class_weights
from studio.core.song import Notes, Song
from studio.ml.quality import js_distance


def window_key_labels(histograms: np.ndarray) -> np.ndarray:
    """Krumhansl key label (`Key.index`) of each 12-bin histogram ``[W, 12]``; -1 when a
    histogram is silent or flat. Equals `studio.core.keys.estimate_key` (Pearson
    correlation is the dot product of centred unit vectors), vectorised for many windows."""
    h = np.asarray(histograms, dtype=float).reshape(-1, 12)
    centred = h - h.mean(axis=1, keepdims=True)
    norm = np.linalg.norm(centred, axis=1)
    flat = norm <= 1e-12 * np.maximum(1.0, np.abs(h).max(axis=1))
    scores = centred @ CENTRED_PROFILES.T  # argmax unaffected by the row's (positive) norm
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


def _outside(song: Song, shift: int, ranges: Sequence[tuple[float, float]] | None) -> float:
    """Semitones by which the tracks of ``song`` moved ``shift`` would lie outside
    ``ranges`` (and MIDI's 0-127), summed over tracks."""
    total = 0.0
    for k, track in enumerate(song.tracks):
        if track.is_drum or not len(track.notes):
            continue
        lo = int(track.notes.pitch.min()) + shift
        hi = int(track.notes.pitch.max()) + shift
        r_lo, r_hi = ranges[k] if ranges is not None and k < len(ranges) else (0, 127)
        total += max(0.0, r_lo - lo) + max(0.0, hi - r_hi)
        total += 1000.0 * (max(0, -lo) + max(0, hi - 127))  # never off the keyboard
    return total


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
    shift = next((v for v in options if _outside(song, v, ranges) == 0), options[0])
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


# ------------------------------------------------------------------ any key: the data's keys
# The training windows are transposed at random (`Trainer.transpose`: +-3 semitones for
# the chorales), which blurs the keys a network learns over their neighbours: asked for no
# key, the bundled model wrote mostly in F minor, F major, C# major and Eb major. "Any key"
# therefore means a key drawn from the keys of the model's own training music, in the
# mode the network chose.
KEY_PRIOR_STREAM = 0x4B45  # keeps the key draw's random stream apart from the music's


def key_counts(labels: np.ndarray) -> list[int]:
    """Windows per key (`Key.index`, 24 entries) from `window_key_labels` labels."""
    labels = np.asarray(labels, dtype=np.int64)
    return [int(v) for v in np.bincount(labels[labels >= 0], minlength=24)[:24]]


def key_prior(meta: dict) -> np.ndarray | None:
    """The 24 key counts of a model's training windows (checkpoint metadata
    ``data.key_counts``), or None for files made before they were recorded."""
    counts = meta.get("data", {}).get("key_counts") if isinstance(meta, dict) else None
    if not isinstance(counts, list) or len(counts) != 24:
        return None
    prior = np.asarray(counts, dtype=float)
    return prior if np.all(prior >= 0) and prior.sum() > 0 else None


def drawn_key(song: Song, prior: np.ndarray, seed: int) -> tuple[Key, Key] | None:
    """(the key ``song`` is in, a key drawn for it from ``prior`` in the same mode), or
    None when the song is silent or the prior has no key of that mode."""
    scores = song_key_scores(song)
    if not np.any(scores):
        return None
    found = Key.from_index(int(np.argmax(scores)))
    base = 12 if found.mode == "minor" else 0
    weights = prior[base : base + 12]
    if weights.sum() <= 0:
        return None
    rng = np.random.default_rng([int(seed), KEY_PRIOR_STREAM])
    tonic = int(rng.choice(12, p=weights / weights.sum()))
    return found, Key(tonic, found.mode)


def prior_shift(
    song: Song,
    prior: np.ndarray,
    seed: int,
    ranges: Sequence[tuple[float, float]] | None = None,
) -> tuple[int, Key, Key] | None:
    """(shift, the song's key, the drawn key): of the shifts that move the song to the
    drawn key, the one that leaves its tracks least outside ``ranges``, the smaller on a
    tie; None when it stays as it is (silent, no key of its mode in the prior, or every
    such shift takes it further out of range than it is)."""
    drawn = drawn_key(song, prior, seed)
    if drawn is None:
        return None
    found, wanted = drawn
    shift = min(tonic_shifts(found, wanted), key=lambda v: _outside(song, v, ranges))
    if _outside(song, shift, ranges) > _outside(song, 0, ranges):
        return None
    return shift, found, wanted


def any_key_variations(
    songs: Sequence[Song],
    seeds: Sequence[int],
    prior: np.ndarray,
    ranges: Sequence[tuple[float, float]] | None = None,
) -> KeyFit:
    """Each variation moved to a key drawn (by its own seed) from ``prior`` in the mode it
    was written in (`prior_shift`); a variation every such shift would take further out of
    ``ranges`` keeps its key. Post-processing, and the message says so. Every variation
    keeps its mode, so ``in_mode`` counts them all."""
    out, shifts, moves = [], [], []
    for song, seed in zip(songs, seeds, strict=True):
        moved = prior_shift(song, prior, seed, ranges)
        shift = moved[0] if moved is not None else 0
        out.append(transpose_song(song, shift) if shift else song)
        shifts.append(shift)
        moves.append(f"{moved[2].name} ({shift:+d})" if moved is not None else "kept")
    message = (
        "any key: each variation moved to a key drawn from the keys of this model's "
        "training music, in the mode the network wrote (post-processing): " + ", ".join(moves)
    )
    if "kept" in moves:
        message += " (kept: silent, or any shift would take the voices out of range)"
    in_mode = len(out)
    return KeyFit(out, shifts, in_mode, len(out), message)


def key_spread(songs: Sequence[Song], prior: np.ndarray) -> dict[str, float]:
    """How far the keys ``songs`` are in lie from ``prior``'s: the Jensen-Shannon distance
    (base 2, 0 same to 1 disjoint) of the two 24-key distributions, the share of songs in
    a key that holds at least 2% of the prior, and the share in minor (songs and prior)."""
    found = np.zeros(24)
    for song in songs:
        key = song_key(song)
        if key is not None:
            found[key.index] += 1
    q = np.asarray(prior, dtype=float)
    p, q = found / max(1.0, found.sum()), q / max(1e-12, float(q.sum()))
    return {
        "js_distance": js_distance(found, q),
        "common_key_share": float(p[q >= 0.02].sum()),
        "minor_share": float(p[12:].sum()),
        "prior_minor_share": float(q[12:].sum()),
    }
