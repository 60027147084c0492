"""What gives generated four-part music away: engine-v2 quality measures (issue 12).

Inputs are int8 rolls ``[N, T, S, P]`` (OFF/HOLD/ONSET, pitch row 0 = MIDI
``lowest_pitch``), as in `studio.ml.metrics`. Each function measures one thing a listener
(or the classifier test in `studio.ml.c2st`) uses to tell samples from Bach:

* `note_length_profile`: per-voice note-length distributions, the Jensen-Shannon
  distance between two sets, and the shares of sixteenths and of notes of two beats or
  more (the held chords at cadences).
* `consecutive_perfects`: consecutive fifths and octaves/unisons between *any* two voices,
  by similar or contrary motion, between successive sonorities (not only between notes
  struck at the same step), per voice-pair motion.
* `memorisation_share`: share of generated two-bar four-voice passages that occur
  verbatim (transposition-invariant) in the training windows.
* `key_agreement`: share of samples whose Krumhansl key is the requested one.
* `cadence_holds`: at the phrase ends a window is marked with (`studio.ml.phrases`),
  how often the voices arrive together and hold for two beats, as Bach's do at fermatas.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from studio.core.keys import Key, estimate_key, pitch_class_weights
from studio.core.pianoroll import ONSET
from studio.ml.metrics import note_table, top_pitch

LENGTH_BINS = 33  # note lengths 0..31 steps, and 32 or more in the last bin


def _length_histograms(rolls: np.ndarray) -> np.ndarray:
    """``[T, LENGTH_BINS]`` note-length counts per voice."""
    _s, track, _p, _start, length = note_table(rolls)
    out = np.zeros((rolls.shape[1], LENGTH_BINS))
    np.add.at(out, (track, np.minimum(length, LENGTH_BINS - 1)), 1)
    return out


def js_distance(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon distance (base 2, in [0, 1]) between two histograms."""
    p = np.asarray(p, float)
    q = np.asarray(q, float)
    if p.sum() == 0 or q.sum() == 0:
        return float("nan")
    p, q = p / p.sum(), q / q.sum()
    m = 0.5 * (p + q)

    def kl(a: np.ndarray, b: np.ndarray) -> float:
        nz = a > 0
        return float(np.sum(a[nz] * np.log2(a[nz] / b[nz])))

    return float(np.sqrt(max(0.0, 0.5 * kl(p, m) + 0.5 * kl(q, m))))


def length_shares(rolls: np.ndarray, steps_per_beat: int) -> dict[str, float]:
    """Shares of all notes that are sixteenths, and that last two beats or more; the
    share of steps on which some voice starts a note; and two checks that the short
    notes are music, not a decoding's flicker:

    * ``passing_sixteenth_share``: sixteenths with a note of the same voice sounding right
      before and right after (passing and neighbour notes; almost all of Bach's);
    * ``short_rests_per_note``: rests of an eighth or less between two notes of a voice,
      per note (Bach's chorale voices have none).
    """
    rolls = np.asarray(rolls)
    sample, track, _p, start, length = note_table(rolls)
    sixteenth = max(1, steps_per_beat // 4)
    n = max(len(length), 1)
    onsets = (rolls == ONSET).any(axis=(1, 3))
    sounding = top_pitch(rolls) >= 0  # [N, T, S]
    steps = sounding.shape[-1]
    before = (start > 0) & sounding[sample, track, np.maximum(start - 1, 0)]
    end = start + length
    after = (end < steps) & sounding[sample, track, np.minimum(end, steps - 1)]
    is_sixteenth = length == sixteenth
    return {
        "sixteenth_share": float(is_sixteenth.sum() / n) if steps_per_beat >= 4 else 0.0,
        "passing_sixteenth_share": (
            float((is_sixteenth & before & after).sum() / n) if steps_per_beat >= 4 else 0.0
        ),
        "long_note_share": float((length >= 2 * steps_per_beat).sum() / n),
        "onset_step_share": float(onsets.mean()) if onsets.size else float("nan"),
        "short_rests_per_note": _short_rests(sounding, max(1, steps_per_beat // 2)) / n,
    }


def _short_rests(sounding: np.ndarray, longest: int) -> int:
    """Silent runs of at most ``longest`` steps with the voice sounding on both sides."""
    flat = sounding.reshape(-1, sounding.shape[-1]).astype(np.int8)
    edges = np.diff(flat, axis=1)  # -1: a note ends (silence starts), +1: sound resumes
    count = 0
    for row in range(len(flat)):
        stops = np.flatnonzero(edges[row] == -1)
        resumes = np.flatnonzero(edges[row] == 1)
        if not len(stops) or not len(resumes):
            continue
        nxt = np.searchsorted(resumes, stops)  # the first resume after each stop
        ok = nxt < len(resumes)
        count += int(((resumes[nxt[ok]] - stops[ok]) <= longest).sum())
    return count


def note_length_profile(
    generated: np.ndarray, reference: np.ndarray, steps_per_beat: int
) -> dict[str, object]:
    """Per-voice JS distance of note lengths, and the length shares of both sets."""
    g, r = _length_histograms(generated), _length_histograms(reference)
    per_voice = [js_distance(g[k], r[k]) for k in range(min(len(g), len(r)))]
    gen_shares = length_shares(generated, steps_per_beat)
    ref_shares = length_shares(reference, steps_per_beat)
    ratios = {
        key: (gen_shares[key] / ref_shares[key]) if ref_shares[key] else float("nan")
        for key in ("sixteenth_share", "passing_sixteenth_share", "long_note_share")
    }
    return {
        "js_per_voice": per_voice,
        "js_mean": float(np.nanmean(per_voice)) if per_voice else float("nan"),
        "generated": gen_shares,
        "reference": ref_shares,
        "share_ratio": ratios,
    }


def _sonority_events(top: np.ndarray, onset: np.ndarray, a: int, b: int) -> np.ndarray:
    """Steps where voice a or b starts a note while both sound: successive sonorities."""
    both = (top[a] >= 0) & (top[b] >= 0)
    return np.flatnonzero(both & (onset[a] | onset[b]))


def consecutive_perfects(rolls: np.ndarray) -> dict[str, float]:
    """Consecutive fifths and octaves/unisons between any two voices (similar or contrary
    motion) and voice crossings.

    Between two successive sonorities of a voice pair, both voices must change pitch and
    keep the same perfect interval class (0 or 7 semitones mod 12). Rates are per
    voice-pair motion in which both voices move; crossings are per step where both sound.
    """
    rolls = np.asarray(rolls)
    top = top_pitch(rolls)  # [N, T, S]
    onset = (rolls == ONSET).any(axis=-1)
    n_tracks = rolls.shape[1]
    fifths = octaves = motions = 0
    crossings = both_sound = 0
    for i in range(len(rolls)):
        for a in range(n_tracks - 1):
            for b in range(a + 1, n_tracks):
                ta, tb = top[i, a], top[i, b]
                sounding = (ta >= 0) & (tb >= 0)
                both_sound += int(sounding.sum())
                crossings += int((sounding & (ta < tb)).sum())
                steps = _sonority_events(top[i], onset[i], a, b)
                if len(steps) < 2:
                    continue
                pa, pb = ta[steps], tb[steps]
                moved = (np.diff(pa) != 0) & (np.diff(pb) != 0)
                interval = (pa - pb) % 12
                same = interval[1:] == interval[:-1]
                motions += int(moved.sum())
                fifths += int((moved & same & (interval[1:] == 7)).sum())
                octaves += int((moved & same & (interval[1:] == 0)).sum())
    return {
        "consecutive_fifths_rate": fifths / motions if motions else float("nan"),
        "consecutive_octaves_rate": octaves / motions if motions else float("nan"),
        "consecutive_perfects_rate": (fifths + octaves) / motions if motions else float("nan"),
        "crossing_rate": crossings / both_sound if both_sound else float("nan"),
    }


def _passage_keys(rolls: np.ndarray, steps: int, hop: int) -> list[bytes]:
    """Transposition-invariant fingerprints of every ``steps``-long passage (at ``hop``):
    each voice's top pitch and onsets per step, pitches relative to the passage's lowest.
    Passages with a silent voice throughout are left out (nothing four-part to compare)."""
    rolls = np.asarray(rolls)
    top = top_pitch(rolls)
    onset = (rolls == ONSET).any(axis=-1)
    keys: list[bytes] = []
    for i in range(len(rolls)):
        for s0 in range(0, rolls.shape[2] - steps + 1, hop):
            t = top[i, :, s0 : s0 + steps]
            if (t < 0).all(axis=1).any():
                continue
            low = t[t >= 0].min()
            rel = np.where(t >= 0, t - low, -1).astype(np.int16)
            keys.append(rel.tobytes() + onset[i, :, s0 : s0 + steps].tobytes())
    return keys


def memorisation_share(
    generated: np.ndarray, training: np.ndarray | Iterable[np.ndarray], steps_per_bar: int
) -> float:
    """Share of generated two-bar passages (bar-aligned) found verbatim, in any
    transposition, among the training windows' two-bar passages (at every bar)."""
    steps = 2 * steps_per_bar
    seen: set[bytes] = set()
    chunks = [training] if isinstance(training, np.ndarray) else training
    for chunk in chunks:
        seen.update(_passage_keys(chunk, steps, steps_per_bar))
    gen = _passage_keys(generated, steps, steps_per_bar)
    if not gen:
        return float("nan")
    return float(np.mean([k in seen for k in gen]))


def window_keys(rolls: np.ndarray, lowest_pitch: int) -> list[Key | None]:
    """The Krumhansl key of each window (duration-weighted, all voices)."""
    sample, _t, pitch, _start, length = note_table(rolls)
    keys: list[Key | None] = []
    for i in range(len(rolls)):
        sel = sample == i
        keys.append(estimate_key(pitch_class_weights(pitch[sel] + lowest_pitch, length[sel])))
    return keys


def key_agreement(rolls: np.ndarray, lowest_pitch: int, wanted: Key) -> float:
    """Share of windows whose estimated key is ``wanted``."""
    keys = window_keys(rolls, lowest_pitch)
    return float(np.mean([k == wanted for k in keys])) if keys else float("nan")


def key_histogram(rolls: np.ndarray, lowest_pitch: int) -> dict[str, int]:
    """How many windows fall in each estimated key (for "which keys does it write in")."""
    counts: dict[str, int] = {}
    for key in window_keys(rolls, lowest_pitch):
        name = key.name if key else "none"
        counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def _cadence_onsets(cadence: np.ndarray, min_left: int) -> list[int]:
    """Steps where a cadence mark starts, with at least ``min_left`` steps left."""
    steps = len(cadence)
    return [s for s in range(1, steps - min_left + 1) if cadence[s] > 0 and cadence[s - 1] == 0]


def cadence_holds(rolls: np.ndarray, marks: np.ndarray, steps_per_beat: int) -> dict[str, float]:
    """How the voices behave at marked phrase ends (``marks``: ``[N, 2, S]`` known and
    cadence planes; windows marked unknown are skipped). Per (phrase end, voice):
    ``arrive_share``, the voice starts a note on the phrase end's step; ``hold_share``,
    the voice then sounds on without a new note for two beats. ``cadences``: how many
    phrase ends (with two beats left in the window) were measured."""
    rolls = np.asarray(rolls)
    hold = 2 * steps_per_beat
    arrive = held = count = 0
    for n in range(len(rolls)):
        if not marks[n, 0].any():
            continue
        for s in _cadence_onsets(marks[n, 1], hold):
            count += 1
            window = rolls[n, :, s : s + hold]  # [T, hold, P]
            sounding = (window > 0).any(axis=-1)  # [T, hold]
            new_note = (window[:, 1:] == ONSET).any(axis=-1)  # [T, hold - 1]
            starts = (window[:, 0] == ONSET).any(axis=-1)
            arrive += int(starts.sum())
            held += int((starts & sounding.all(axis=1) & ~new_note.any(axis=1)).sum())
    voices = max(count * rolls.shape[1], 1)
    return {
        "cadences": float(count),
        "arrive_share": arrive / voices if count else float("nan"),
        "hold_share": held / voices if count else float("nan"),
    }
