"""The evaluation metrics on hand-made rolls whose values can be worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from studio.core.pianoroll import HOLD, ONSET
from studio.ml.metrics import compare, evaluate_rolls, voice_leading

LOW = 48  # pitch row 0 is C3


def roll_of(voices: list[list[int]], steps_per_note: int = 4) -> np.ndarray:
    """One sample ``[1, T, S, P]``: each voice a list of pitch rows (-1 = rest)."""
    s = max(len(v) for v in voices) * steps_per_note
    roll = np.zeros((1, len(voices), s, 36), np.int8)
    for t, voice in enumerate(voices):
        for k, pitch in enumerate(voice):
            if pitch >= 0:
                a = k * steps_per_note
                roll[0, t, a : a + steps_per_note, pitch] = HOLD
                roll[0, t, a, pitch] = ONSET
    return roll


def test_bar_and_texture_metrics():
    # Two voices, 8 quarter notes = 2 bars of 16 steps; the lower voice rests in bar 2.
    roll = roll_of([[12, 14, 16, 17, 19, 21, 23, 24], [0, 5, 7, 0, -1, -1, -1, -1]])
    m = evaluate_rolls(roll, 16, LOW)
    assert m["empty_bar_rate"] == pytest.approx(1 / 4)
    assert m["qualified_note_rate"] == 1.0
    assert m["polyphony"] == pytest.approx((16 * 2 + 16 * 1) / 32)
    assert m["pitch_classes_per_bar"] == pytest.approx((4 + 4 + 3) / 3)
    assert m["scale_consistency"] == 1.0  # C major throughout
    roll[0, 0, 4:8] = 0
    roll[0, 0, 4, 13] = ONSET  # C# instead of D: one note of 12 outside C major...
    roll[0, 0, 5:8, 13] = HOLD
    assert evaluate_rolls(roll, 16, LOW)["scale_consistency"] == pytest.approx(11 / 12)


def test_parallel_fifths_are_counted_and_contrary_motion_is_not():
    fifths = roll_of([[19, 21, 23], [12, 14, 16]])  # G/C -> A/D -> B/E: two parallel moves
    assert voice_leading(fifths, LOW)["parallel_rate"] == 1.0
    contrary = roll_of([[19, 17, 16], [12, 14, 16 - 12]])
    assert voice_leading(contrary, LOW)["parallel_rate"] == 0.0


def test_key_normalized_distance_ignores_the_key_but_not_the_degrees():
    melody = [12, 14, 16, 17, 19, 16, 12, 19]  # C major, tonic-heavy
    in_c = roll_of([melody])
    in_e = roll_of([[p + 4 for p in melody]])  # the same tune in E major
    plain = compare(in_e, in_c, 16, LOW)["distances"]
    assert plain["pitch_class_hist_distance"] > 0.5
    assert plain["key_normalized_pc_distance"] == pytest.approx(0.0)
    leading = roll_of([[23, 23, 23, 23, 24, 12, 23, 23]])  # the same key, other degrees
    other = compare(leading, in_c, 16, LOW)["distances"]
    assert other["key_normalized_pc_distance"] > 0.3
