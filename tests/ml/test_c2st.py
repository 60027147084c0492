"""The classifier two-sample test says 'indistinguishable' and 'different' when it should."""

import numpy as np

from studio.core.pianoroll import HOLD, ONSET
from studio.ml import c2st


def test_identical_distributions_score_near_chance() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(100, 6)), rng.normal(size=(100, 6))
    score = c2st.two_sample_accuracy(
        a.astype(np.float32), b.astype(np.float32), c2st.train_features, seed=0
    )
    assert 0.35 <= score.accuracy <= 0.65


def test_shifted_distributions_are_told_apart() -> None:
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(100, 6)), rng.normal(size=(100, 6)) + 2.0
    score = c2st.two_sample_accuracy(
        a.astype(np.float32), b.astype(np.float32), c2st.train_features, seed=0
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


def test_grouped_folds_do_not_reward_recognising_a_source() -> None:
    # Each "chorale" (group) has its own mean; both sets draw their groups from the same
    # distribution. Mixing one group's windows across folds lets the classifier recognise
    # the groups; keeping each group in one fold measures the sets' real difference (none).
    rng = np.random.default_rng(4)
    centres = rng.normal(scale=3.0, size=(40, 6))
    groups = np.repeat(np.arange(40), 8)
    rows = (centres[groups] + rng.normal(scale=0.3, size=(320, 6))).astype(np.float32)
    a, b = rows[groups < 20], rows[groups >= 20]
    ga, gb = groups[groups < 20], groups[groups >= 20]
    mixed = c2st.two_sample_accuracy(a, b, c2st.train_features, seed=0)
    grouped = c2st.two_sample_accuracy(a, b, c2st.train_features, 0, 5, ga, gb)
    assert mixed.accuracy >= 0.8
    assert grouped.accuracy <= 0.7


def test_every_feature_has_a_name() -> None:
    rolls = _rolls(np.random.default_rng(5), 2, 2)
    assert len(c2st.feature_names(4)) == c2st.window_features(rolls, 4).shape[1]


def test_giveaways_name_what_tells_two_sets_apart() -> None:
    rng = np.random.default_rng(6)
    quavers, minims = _rolls(rng, 40, 2), _rolls(rng, 40, 8)
    top = c2st.feature_giveaways(quavers, minims, steps_per_beat=4, top=3)
    assert len(top) == 3
    first = top[0]
    assert first["auc"] in (0.0, 1.0)  # a perfect tell on its own
    # Quavers start more notes per step than minims in every voice; the tell says which way.
    every = c2st.feature_giveaways(quavers, minims, steps_per_beat=4, top=100)
    assert len(every) == len(c2st.feature_names(4))
    per_step = next(r for r in every if r["feature"] == "A: notes per step")
    assert per_step["auc"] == 1.0 and per_step["mean_a"] > per_step["mean_b"]
    same = c2st.feature_giveaways(quavers[:20], quavers[20:], steps_per_beat=4)
    assert all(abs(float(r["auc"]) - 0.5) < 0.35 for r in same)
