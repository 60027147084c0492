"""Key names a composer types, and the Krumhansl key estimate."""

import numpy as np
import pytest

from studio.core.keys import (
    MAJOR_PROFILE,
    MINOR_PROFILE,
    Key,
    KeyNameError,
    estimate_key,
    key_scores,
    parse_key,
    pitch_class_weights,
)


@pytest.mark.parametrize(
    ("text", "tonic", "mode"),
    [
        ("C", 0, "major"),
        ("G minor", 7, "minor"),
        ("F# major", 6, "major"),
        ("Bb minor", 10, "minor"),
        ("bb minor", 10, "minor"),
        ("b minor", 11, "minor"),
        ("Ebm", 3, "minor"),
        ("c♯ min", 1, "minor"),
        ("  A  ", 9, "major"),
    ],
)
def test_parse_key_accepts_the_usual_forms(text: str, tonic: int, mode: str) -> None:
    assert parse_key(text) == Key(tonic, mode)


@pytest.mark.parametrize("text", ["", "H major", "G dorian", "C##", "7"])
def test_parse_key_refuses_with_the_accepted_forms(text: str) -> None:
    with pytest.raises(KeyNameError, match="G minor"):
        parse_key(text)


def _scale_weights(tonic: int, steps: list[int], tonic_weight: float = 3.0) -> np.ndarray:
    pitches = np.array([60 + tonic + s for s in steps])
    durations = np.ones(len(pitches))
    durations[0] = tonic_weight  # the tonic sounds longest, as in real music
    return pitch_class_weights(pitches, durations)


def test_estimate_key_finds_major_and_minor_scales() -> None:
    major = [0, 2, 4, 5, 7, 9, 11, 7, 4]
    minor = [0, 2, 3, 5, 7, 8, 11, 7, 3]
    for tonic in range(12):
        assert estimate_key(_scale_weights(tonic, major)) == Key(tonic, "major")
        assert estimate_key(_scale_weights(tonic, minor)) == Key(tonic, "minor")


def test_estimate_key_of_silence_is_none() -> None:
    assert estimate_key(np.zeros(12)) is None


def test_key_scores_are_the_pearson_correlations_with_each_rotated_profile() -> None:
    rng = np.random.default_rng(4)
    for h in [*rng.random((20, 12)), np.array([5.0, 0, 2, 0, 3, 1, 0, 4, 0, 2, 0, 1])]:
        expected = [
            np.corrcoef(h, np.roll(profile, tonic))[0, 1]
            for profile in (MAJOR_PROFILE, MINOR_PROFILE)
            for tonic in range(12)
        ]
        np.testing.assert_allclose(key_scores(h), expected, rtol=0, atol=1e-12)
    assert not key_scores(np.full(12, 2.0)).any()  # flat: no key
