"""Objective metrics on sets of piano-rolls, for generated samples and for the data.

Inputs are int8 rolls ``[N, T, S, P]`` (OFF/HOLD/ONSET) whose pitch row 0 is MIDI
``lowest_pitch``. Definitions follow MuseGAN (Dong et al., "MuseGAN: Multi-track
Sequential Generative Adversarial Networks for Symbolic Music Generation and
Accompaniment", AAAI 2018, section "Objective metrics") unless noted:

* ``empty_bar_rate`` (EB): fraction of (sample, track, bar) with no sounding note.
* ``pitch_classes_per_bar`` (UPC): distinct pitch classes in a non-empty bar, per track.
* ``qualified_note_rate`` (QN): fraction of notes lasting >= 3 time steps.
* ``polyphony``: mean number of pitches sounding together (all tracks merged) over the
  steps where anything sounds; ``polyphonic_rate`` is MuseGAN's polyphonicity: the
  fraction of those steps with more than two pitches.
* ``pitch_class_entropy``: Shannon entropy (bits) of each bar's pitch-class histogram,
  tracks merged (Yang & Lerch, "On the evaluation of generative models in music",
  Neural Computing and Applications 2020).
* ``scale_consistency``: fraction of notes in the best-matching major/minor scale,
  per sample (Mogren, "C-RNN-GAN", 2016).
* ``tonal_distance`` (TD): Euclidean distance between the 6-D tonal centroids (Harte,
  Sandler & Gasser, "Detecting harmonic change in musical audio", 2006) of two tracks'
  bar chroma, averaged over track pairs and bars where both sound (MuseGAN).
* Distances between sets: ``pitch_class_hist_distance`` and
  ``note_length_hist_distance``, the total-variation distance (half the L1 distance)
  between the two sets' normalised histograms (0 = identical, 1 = disjoint);
  ``key_normalized_pc_distance`` the same for pitch classes after moving each sample
  to C major / A minor, so two sets in different keys but with the same use of scale
  degrees come out close (ours, not MuseGAN's).
* Voice-leading checks for four-part writing (tracks S, A, T, B): ``voice_range_rate``
  (notes inside each voice's usual range, ``SATB_RANGES``), ``voice_crossing_rate``
  (steps where an upper voice sounds below the next lower one, among steps where both
  sound) and ``parallel_rate`` (parallel fifths or octaves/unisons between adjacent
  voices, among steps where both voices move to new pitches).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from studio.core.pianoroll import ONSET

# Usual ranges of the four voices (MIDI, inclusive): the classic choral ranges with a
# tone of slack, which cover ~99% of the notes in Bach's own chorales.
SATB_RANGES: tuple[tuple[int, int], ...] = ((58, 81), (52, 76), (45, 69), (36, 64))
MAJOR = np.array([0, 2, 4, 5, 7, 9, 11])
HARMONIC_MINOR = np.array([0, 2, 3, 5, 7, 8, 11])


def _scale_masks() -> np.ndarray:
    masks = []
    for steps in (MAJOR, HARMONIC_MINOR):
        for root in range(12):
            m = np.zeros(12, bool)
            m[(steps + root) % 12] = True
            masks.append(m)
    return np.array(masks)


SCALES = _scale_masks()


def note_runs(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, start, end) of every note in ``[rows, steps]`` OFF/HOLD/ONSET cells: a note
    starts at an onset or where a row starts sounding, and ends before the next start or
    the first silent step."""
    s = cells.shape[1]
    sounding = cells > 0
    prev = np.zeros_like(sounding)
    prev[:, 1:] = sounding[:, :-1]
    starts = (cells == ONSET) | (sounding & ~prev)
    row, col = np.nonzero(starts)
    stops = np.concatenate([starts | ~sounding, np.ones((len(cells), 1), bool)], axis=1)
    flat = np.flatnonzero(stops)
    ends = flat[np.searchsorted(flat, row * (s + 1) + col + 1)] - row * (s + 1)
    return row, col, ends


def note_table(rolls: np.ndarray) -> tuple[np.ndarray, ...]:
    """(sample, track, pitch row, start, length) of every note in the rolls."""
    rolls = np.asarray(rolls)
    _n, t, s, p = rolls.shape
    row, col, ends = note_runs(np.moveaxis(rolls, 2, 3).reshape(-1, s))
    sample, rest = np.divmod(row, t * p)
    track, pitch = np.divmod(rest, p)
    return sample, track, pitch, col, ends - col


def _chroma(frames: np.ndarray, lowest_pitch: int) -> np.ndarray:
    """Pitch-class counts ``[..., 12]`` of the last axis (pitch rows)."""
    p = frames.shape[-1]
    pc = (np.arange(p) + lowest_pitch) % 12
    out = np.zeros((*frames.shape[:-1], 12))
    for k in range(12):
        out[..., k] = frames[..., pc == k].sum(axis=-1)
    return out


def _tonal_centroid(chroma: np.ndarray) -> np.ndarray:
    """Harte et al. (2006) 6-D tonal centroid of chroma vectors ``[..., 12]``."""
    k = np.arange(12)
    r = (1.0, 1.0, 0.5)
    phi = np.stack(
        [
            r[0] * np.sin(k * 7 * np.pi / 6),
            r[0] * np.cos(k * 7 * np.pi / 6),
            r[1] * np.sin(k * 3 * np.pi / 2),
            r[1] * np.cos(k * 3 * np.pi / 2),
            r[2] * np.sin(k * 2 * np.pi / 3),
            r[2] * np.cos(k * 2 * np.pi / 3),
        ]
    )  # [6, 12]
    norm = chroma.sum(axis=-1, keepdims=True)
    return (chroma / np.maximum(norm, 1e-9)) @ phi.T


def top_pitch(rolls: np.ndarray) -> np.ndarray:
    """``[N, T, S]`` highest sounding pitch row per track and step (-1 = silent)."""
    sounding = np.asarray(rolls) > 0
    p = sounding.shape[-1]
    idx = p - 1 - np.argmax(sounding[..., ::-1], axis=-1)
    return np.where(sounding.any(axis=-1), idx, -1)


def voice_leading(
    rolls: np.ndarray, lowest_pitch: int, ranges: tuple[tuple[int, int], ...] = SATB_RANGES
) -> dict[str, float]:
    """Range compliance, crossings and parallel fifths/octaves of S, A, T, B tracks."""
    rolls = np.asarray(rolls)
    _sample, track, pitch, _start, _len = note_table(rolls)
    midi = pitch + lowest_pitch
    in_range = np.zeros(len(midi), bool)
    for k, (lo, hi) in enumerate(ranges[: rolls.shape[1]]):
        sel = track == k
        in_range[sel] = (midi[sel] >= lo) & (midi[sel] <= hi)
    top = top_pitch(rolls)
    crossings = both = 0
    parallels = moves = 0
    onset = (rolls == ONSET).any(axis=-1)
    for k in range(min(rolls.shape[1], len(ranges)) - 1):
        up, low = top[:, k], top[:, k + 1]
        sounding = (up >= 0) & (low >= 0)
        both += int(sounding.sum())
        crossings += int((sounding & (up < low)).sum())
        # Both voices move (new onsets) between consecutive steps where both sound.
        prev_ok = sounding[:, :-1] & sounding[:, 1:]
        moved = prev_ok & onset[:, k, 1:] & onset[:, k + 1, 1:]
        moved &= (up[:, 1:] != up[:, :-1]) & (low[:, 1:] != low[:, :-1])
        same_dir = np.sign(up[:, 1:] - up[:, :-1]) == np.sign(low[:, 1:] - low[:, :-1])
        iv_prev = (up[:, :-1] - low[:, :-1]) % 12
        iv_now = (up[:, 1:] - low[:, 1:]) % 12
        perfect = ((iv_prev == 7) & (iv_now == 7)) | ((iv_prev == 0) & (iv_now == 0))
        moves += int(moved.sum())
        parallels += int((moved & same_dir & perfect).sum())
    return {
        "voice_range_rate": float(in_range.mean()) if len(in_range) else float("nan"),
        "voice_crossing_rate": crossings / both if both else float("nan"),
        "parallel_rate": parallels / moves if moves else float("nan"),
    }


def evaluate_rolls(
    rolls: np.ndarray,
    steps_per_bar: int,
    lowest_pitch: int,
    mapping: str = "",
) -> dict[str, float]:
    """Every per-set metric of ``rolls`` (see the module docstring)."""
    rolls = np.asarray(rolls)
    n, t, s, p = rolls.shape
    if n == 0:
        return {}
    bars = s // steps_per_bar
    frames = rolls[:, :, : bars * steps_per_bar] > 0
    per_bar = frames.reshape(n, t, bars, steps_per_bar, p)
    bar_active = per_bar.any(axis=(3, 4))  # [N, T, bars]
    chroma = _chroma(per_bar.any(axis=3), lowest_pitch) > 0  # [N, T, bars, 12]
    upc = chroma.sum(axis=-1)
    sample, _track, pitch, _start, length = note_table(rolls)
    merged = frames.sum(axis=1)  # [N, S, P] counts
    sounding_count = (merged > 0).sum(axis=-1)  # [N, S]
    active_steps = sounding_count > 0
    bar_chroma = _chroma(
        (merged > 0).reshape(n, bars, steps_per_bar, p).sum(axis=2), lowest_pitch
    )  # [N, bars, 12] step counts
    totals = bar_chroma.sum(axis=-1)
    entropies = []
    for h in bar_chroma[totals > 0]:
        q = h / h.sum()
        q = q[q > 0]
        entropies.append(float(-(q * np.log2(q)).sum()))
    # Scale consistency per sample: best scale's share of the sample's notes.
    pcs = (pitch + lowest_pitch) % 12
    sc = []
    for k in range(n):
        sel = pcs[sample == k]
        if len(sel):
            hist = np.bincount(sel, minlength=12)
            sc.append(float((SCALES @ hist).max() / hist.sum()))
    # Tonal distance between every pair of tracks, per bar where both sound.
    tds = []
    centroid = _tonal_centroid(_chroma(per_bar.sum(axis=3), lowest_pitch))  # [N,T,bars,6]
    for a in range(t):
        for b in range(a + 1, t):
            both = bar_active[:, a] & bar_active[:, b]
            if both.any():
                d = np.linalg.norm(centroid[:, a] - centroid[:, b], axis=-1)
                tds.append(d[both])
    out: dict[str, float] = {
        "empty_bar_rate": float(1 - bar_active.mean()),
        "pitch_classes_per_bar": float(upc[bar_active].mean()) if bar_active.any() else 0.0,
        "qualified_note_rate": float((length >= 3).mean()) if len(length) else float("nan"),
        "notes_per_bar": float(len(length) / (n * t * bars)),
        "polyphony": float(sounding_count[active_steps].mean()) if active_steps.any() else 0.0,
        "polyphonic_rate": float((sounding_count[active_steps] > 2).mean())
        if active_steps.any()
        else 0.0,
        "pitch_class_entropy": float(np.mean(entropies)) if entropies else 0.0,
        "scale_consistency": float(np.mean(sc)) if sc else float("nan"),
        "tonal_distance": float(np.concatenate(tds).mean()) if tds else float("nan"),
    }
    if mapping == "bach" or (t == 4 and mapping == ""):
        out.update(voice_leading(rolls, lowest_pitch))
    return out


def pitch_class_histogram(rolls: np.ndarray, lowest_pitch: int) -> np.ndarray:
    _, _, pitch, _, _ = note_table(rolls)
    h = np.bincount((pitch + lowest_pitch) % 12, minlength=12).astype(float)
    return h / max(h.sum(), 1.0)


def key_normalized_pitch_class_histogram(rolls: np.ndarray, lowest_pitch: int) -> np.ndarray:
    """Pitch-class histogram after moving each sample to C major / A minor (by its best
    scale): compares the use of scale degrees, whatever keys the samples are in."""
    sample, _, pitch, _, _ = note_table(rolls)
    pcs = (pitch + lowest_pitch) % 12
    h = np.zeros(12)
    for k in np.unique(sample):
        sel = pcs[sample == k]
        best = int((SCALES @ np.bincount(sel, minlength=12)).argmax())
        # Major scales 0-11 are rooted on their index; minor ones 12-23 go to A (9).
        shift = best if best < 12 else (best - 12 - 9)
        h += np.bincount((sel - shift) % 12, minlength=12)
    return h / max(h.sum(), 1.0)


def note_length_histogram(rolls: np.ndarray, max_steps: int = 32) -> np.ndarray:
    _, _, _, _, length = note_table(rolls)
    h = np.bincount(np.minimum(length, max_steps), minlength=max_steps + 1).astype(float)
    return h / max(h.sum(), 1.0)


def compare(
    generated: np.ndarray,
    reference: np.ndarray,
    steps_per_bar: int,
    lowest_pitch: int,
    mapping: str = "",
) -> dict[str, Any]:
    """Metrics of both sets side by side, plus histogram distances between them."""
    gen = evaluate_rolls(generated, steps_per_bar, lowest_pitch, mapping)
    ref = evaluate_rolls(reference, steps_per_bar, lowest_pitch, mapping)
    tv = lambda a, b: float(0.5 * np.abs(a - b).sum())  # noqa: E731
    return {
        "generated": gen,
        "reference": ref,
        "distances": {
            "pitch_class_hist_distance": tv(
                pitch_class_histogram(generated, lowest_pitch),
                pitch_class_histogram(reference, lowest_pitch),
            ),
            "note_length_hist_distance": tv(
                note_length_histogram(generated), note_length_histogram(reference)
            ),
            "key_normalized_pc_distance": tv(
                key_normalized_pitch_class_histogram(generated, lowest_pitch),
                key_normalized_pitch_class_histogram(reference, lowest_pitch),
            ),
        },
    }


def format_table(result: dict[str, Any]) -> str:
    """A plain-text table: metric, generated, reference, relative difference."""
    gen, ref = result["generated"], result["reference"]
    lines = [f"{'metric':<28}{'generated':>12}{'data':>12}{'rel. diff':>12}"]
    for key in ref:
        g, r = gen.get(key, float("nan")), ref[key]
        rel = (g - r) / abs(r) if r not in (0, 0.0) and np.isfinite(r) else float("nan")
        lines.append(f"{key:<28}{g:>12.4f}{r:>12.4f}{rel:>+12.1%}")
    for key, value in result.get("distances", {}).items():
        lines.append(f"{key:<28}{value:>12.4f}")
    return "\n".join(lines)
