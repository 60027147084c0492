"""The classifier two-sample test says 'indistinguishable' and 'different' when it should."""

import numpy as np

from studio.core.pianoroll import HOLD, ONSET
from studio.ml import c2st


def test_identical_distributions_score_near_chance() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(100, 6)), rng.normal(size=(100, 6))
    score = c2st.two_sample_accuracy(
        a.astype(np.float32), b.astype(np.float32), c2st._train_features, seed=0
    )
    assert 0.35 <= score.accuracy <= 0.65


def test_shifted_distributions_are_told_apart() -> None:
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(100, 6)), rng.normal(size=(100, 6)) + 2.0
    score = c2st.two_sample_accuracy(
        a.astype(np.float32), b.astype(np.float32), c2st._train_features, seed=0
    )
    assert score.accuracy >= 0.9


def _rolls(rng: np.random.Generator, n: int, note_length: int) -> np.ndarray:
    """Four voices of random pitches in notes of a fixed length."""
    out = np.zeros((n, 4, 16, 24), np.int8)
    for i in range(n):
        for t in range(4):
            for s in range(0, 16, note_length):
                p = rng.integers(2 + 5 * (3 - t), 8 + 5 * (3 - t))
                out[i, t, s, p] = ONSET
                out[i, t, s + 1 : s + note_length, p] = HOLD
    return out


def test_both_classifiers_tell_quavers_from_minims_but_not_from_quavers() -> None:
    rng = np.random.default_rng(3)
    quavers, more_quavers = _rolls(rng, 40, 2), _rolls(rng, 40, 2)
    minims = _rolls(rng, 40, 8)
    assert c2st.feature_c2st(quavers, minims, steps_per_beat=4).accuracy >= 0.9
    assert c2st.feature_c2st(quavers, more_quavers, steps_per_beat=4).accuracy <= 0.7
    assert c2st.conv_c2st(quavers, minims).accuracy >= 0.9


def test_window_features_are_finite_for_empty_windows() -> None:
    feats = c2st.window_features(np.zeros((3, 4, 16, 24), np.int8), steps_per_beat=4)
    assert feats.shape[0] == 3 and np.isfinite(feats).all()
