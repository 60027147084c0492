"""Engine-v2 quality measures on hand-made four-part rolls whose answers are known."""

import numpy as np

from studio.core.keys import Key
from studio.core.pianoroll import HOLD, ONSET
from studio.ml import quality

LOW = 36  # pitch row 0 = MIDI 36


def roll(
    voices: list[list[tuple[int, int, int]]], steps: int = 16, pitches: int = 48
) -> np.ndarray:
    """One window [T, S, P] from per-voice (midi, start, length) notes."""
    out = np.zeros((len(voices), steps, pitches), np.int8)
    for t, notes in enumerate(voices):
        for midi, start, length in notes:
            out[t, start, midi - LOW] = ONSET
            out[t, start + 1 : start + length, midi - LOW] = HOLD
    return out


def test_js_distance_is_zero_for_equal_and_one_for_disjoint_histograms() -> None:
    assert quality.js_distance(np.array([1, 2, 3]), np.array([2, 4, 6])) == 0.0
    assert abs(quality.js_distance(np.array([1, 0]), np.array([0, 1])) - 1.0) < 1e-9


def test_consecutive_fifths_and_octaves_count_similar_and_contrary_motion() -> None:
    # Upper voice: G4 -> A4 -> C5; lower: C4 -> D4 (fifth to fifth, similar motion),
    # then D4 -> C4 under A4 -> C5 (fifth -> octave: not consecutive).
    fifths = roll([[(67, 0, 4), (69, 4, 4), (72, 8, 4)], [(60, 0, 4), (62, 4, 4), (60, 8, 4)]])
    result = quality.consecutive_perfects(fifths[None])
    assert result["consecutive_fifths_rate"] == 0.5  # 1 of 2 motions
    assert result["consecutive_octaves_rate"] == 0.0
    # Octave to unison by contrary motion: C5/C4 -> G4/G4 counts as consecutive octaves.
    contrary = roll([[(72, 0, 8), (67, 8, 8)], [(60, 0, 8), (67, 8, 8)]])
    result = quality.consecutive_perfects(contrary[None])
    assert result["consecutive_octaves_rate"] == 1.0
    assert result["consecutive_fifths_rate"] == 0.0


def test_moves_at_different_steps_still_compare_successive_sonorities() -> None:
    # The upper voice moves at step 4, the lower one at step 6: the sonorities at 0, 4, 6
    # go fifth -> sixth -> fifth: no consecutive fifths, since no motion keeps the fifth.
    # Then both move together to another fifth at step 10: one motion, one fifth pair.
    r = roll([[(67, 0, 4), (69, 4, 6), (71, 10, 6)], [(60, 0, 6), (62, 6, 4), (64, 10, 6)]])
    result = quality.consecutive_perfects(r[None])
    assert result["consecutive_fifths_rate"] == 1.0  # the single joint motion, 6 -> 10


def test_crossings_are_counted_per_step_where_both_sound() -> None:
    r = roll([[(60, 0, 8)], [(64, 0, 8)]])  # the "upper" voice sits below the lower one
    assert quality.consecutive_perfects(r[None])["crossing_rate"] == 1.0


def test_length_shares() -> None:
    r = roll([[(60, 0, 1), (62, 1, 1), (64, 2, 8), (65, 10, 6)]])  # 4 steps per beat
    shares = quality.length_shares(r[None], steps_per_beat=4)
    assert shares["sixteenth_share"] == 0.5
    assert shares["long_note_share"] == 0.25
    # The first sixteenth starts the window; the second sits between two notes.
    assert shares["passing_sixteenth_share"] == 0.25
    assert shares["short_rests_per_note"] == 0.0


def test_short_notes_beside_rests_are_not_passing_notes() -> None:
    # A voice that drops out for a sixteenth before each new note, and re-enters with a
    # one-step note: the flicker of a decoding, not Bach's passing notes.
    r = roll([[(60, 0, 3), (62, 4, 1), (64, 5, 3), (65, 9, 7)]])
    shares = quality.length_shares(r[None], steps_per_beat=4)
    assert shares["sixteenth_share"] == 0.25
    assert shares["passing_sixteenth_share"] == 0.0
    assert shares["short_rests_per_note"] == 2 / 4  # after the first note and the third


def test_memorisation_is_transposition_invariant() -> None:
    voices = [[(72, 0, 16)], [(67, 0, 16)], [(64, 0, 16)], [(48, 0, 16)]]
    training = roll(voices, steps=32)[None]
    up_a_tone = roll([[(p + 2, s, n) for p, s, n in v] for v in voices], steps=32)[None]
    other = roll([[(72, 0, 16)], [(65, 0, 16)], [(64, 0, 16)], [(48, 0, 16)]], steps=32)[None]
    assert quality.memorisation_share(up_a_tone, training, steps_per_bar=8) == 1.0
    assert quality.memorisation_share(other, training, steps_per_bar=8) == 0.0


def test_key_agreement_of_a_g_minor_cadence() -> None:
    # G minor: G, Bb, D held; D major chord with F#; back to G minor.
    r = roll(
        [
            [(70, 0, 4), (69, 4, 4), (70, 8, 8)],
            [(67, 0, 4), (66, 4, 4), (67, 8, 8)],
            [(62, 0, 4), (62, 4, 4), (62, 8, 8)],
            [(43, 0, 4), (50, 4, 4), (43, 8, 8)],
        ]
    )
    assert quality.key_agreement(r[None], LOW, Key(7, "minor")) == 1.0


def test_cadence_holds_counts_voices_that_arrive_together_and_hold() -> None:
    """Four voices, 16 steps; a phrase end marked at step 8 (one beat of 4 steps)."""
    roll = np.zeros((2, 4, 16, 8), np.int8)
    for t in range(4):
        roll[0, t, 8, t] = ONSET  # every voice arrives on step 8 ...
        roll[0, t, 9:16, t] = HOLD  # ... and holds to the end (two beats and more)
    roll[0, 3, 12, 3] = ONSET  # but the bass moves on after one beat
    marks = np.zeros((2, 2, 16), np.float32)
    marks[:, 0] = 1.0
    marks[:, 1, 8:12] = 1.0
    marks[1, 0] = 0.0  # the second window's phrase ends are unknown: not measured
    held = quality.cadence_holds(roll, marks, steps_per_beat=4)
    assert held == {"cadences": 1.0, "arrive_share": 1.0, "hold_share": 0.75}
    late = marks.copy()
    late[0, 1] = 0.0
    late[0, 1, 12:16] = 1.0  # two beats would run past the window: not measured
    assert quality.cadence_holds(roll, late, 4)["cadences"] == 0.0
