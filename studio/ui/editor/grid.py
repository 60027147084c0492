"""Where bar, beat and snap lines fall in a tick range, following time-signature changes."""

from __future__ import annotations

import numpy as np

from studio.core.song import Song


def _segments(song: Song, t0: int, t1: int):
    sigs = song.time_signatures
    for k, ts in enumerate(sigs):
        seg_start = ts.tick
        seg_end = sigs[k + 1].tick if k + 1 < len(sigs) else max(t1, seg_start) + 1
        if seg_end <= t0 or seg_start > t1:
            continue
        yield ts, seg_start, seg_end


def lines_in_range(song: Song, t0: int, t1: int, step_of) -> np.ndarray:
    """Ticks k*step (per time-signature segment) inside [t0, t1]."""
    out = []
    for ts, seg_start, seg_end in _segments(song, t0, t1):
        step = max(1, int(step_of(ts)))
        lo = max(t0, seg_start)
        hi = min(t1, seg_end - 1)
        first = seg_start + -(-(lo - seg_start) // step) * step
        if first <= hi:
            out.append(np.arange(first, hi + 1, step, dtype=np.int64))
    return np.concatenate(out) if out else np.empty(0, dtype=np.int64)


def bar_ticks(song: Song, t0: int, t1: int) -> np.ndarray:
    tpb = song.ticks_per_beat
    return lines_in_range(song, t0, t1, lambda ts: tpb * 4 * ts.numerator // ts.denominator)


def beat_ticks(song: Song, t0: int, t1: int) -> np.ndarray:
    tpb = song.ticks_per_beat
    return lines_in_range(song, t0, t1, lambda ts: tpb * 4 // ts.denominator)


def step_ticks(song: Song, t0: int, t1: int, step: int) -> np.ndarray:
    return lines_in_range(song, t0, t1, lambda ts: step)


def bar_number_at(song: Song, tick: int) -> int:
    """1-based bar number of the bar containing `tick`."""
    number = 1
    sigs = song.time_signatures
    tpb = song.ticks_per_beat
    for k, ts in enumerate(sigs):
        length = max(1, tpb * 4 * ts.numerator // ts.denominator)
        seg_end = sigs[k + 1].tick if k + 1 < len(sigs) else None
        if seg_end is not None and tick >= seg_end:
            number += -(-(seg_end - ts.tick) // length)
            continue
        return number + (tick - ts.tick) // length
    return number
