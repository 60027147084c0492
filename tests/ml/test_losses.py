"""The voice-leading loss: counts what a teacher counts, and training can lower it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from studio.ml.losses import expected_parallels, voice_pitch_probs


def _voices(lines: list[list[int]], p: int = 48) -> torch.Tensor:
    """One-hot ``[1, V, S, P]`` from pitch rows per voice and step (-1: silent)."""
    out = torch.zeros(1, len(lines), len(lines[0]), p)
    for v, line in enumerate(lines):
        for s, row in enumerate(line):
            if row >= 0:
                out[0, v, s, row] = 1.0
    return out


@pytest.mark.parametrize(
    ("upper", "lower", "expected"),
    [
        ([31, 33], [24, 26], 1),  # a fifth up a step to a fifth: parallel fifths
        ([36, 38], [24, 26], 1),  # octaves
        ([24, 26], [24, 26], 1),  # unisons
        ([43, 45], [24, 26], 1),  # a twelfth (a compound fifth)
        ([31, 29], [24, 26], 0),  # contrary motion
        ([31, 31], [24, 26], 0),  # oblique: the upper voice holds
        ([28, 30], [24, 26], 0),  # thirds
        ([31, 33], [24, 25], 0),  # a fifth to a sixth: not parallel
        ([31, 33], [-1, 26], 0),  # the lower voice enters: no motion from a rest
    ],
)
def test_one_hot_lines_count_exactly_the_parallels(upper, lower, expected):
    # Two voices, two steps: one pair, one step pair, so the mean is the count.
    assert float(expected_parallels(_voices([upper, lower]))) == pytest.approx(expected)


def test_only_adjacent_voices_are_counted_by_default_and_other_pairs_on_request():
    soprano, alto, bass = [43, 45], [34, 37], [24, 26]  # S-B in octaves; A in between
    probs = _voices([soprano, alto, bass])
    assert float(expected_parallels(probs)) == 0.0
    assert float(expected_parallels(probs, pairs=[(0, 2)])) == pytest.approx(1.0)


def test_probabilities_give_the_expected_count():
    lines = _voices([[31, 33], [24, 26]])
    half = lines.clone()
    half[0, 0, 1] = 0.0
    half[0, 0, 1, 33] = 0.5  # the upper voice moves to the fifth half the time,
    half[0, 0, 1, 34] = 0.5  # to the sixth otherwise
    assert float(expected_parallels(half)) == pytest.approx(0.5)


def test_pitch_probabilities_of_a_voice_sum_to_at_most_one():
    logits = torch.randn(2, 4, 8, 16) * 3
    probs = voice_pitch_probs(logits)
    assert (probs.sum(dim=-1) <= 1 + 1e-6).all() and (probs >= 0).all()
    quiet = voice_pitch_probs(torch.full((1, 1, 1, 16), -10.0))
    assert float(quiet.sum()) < 1e-3  # a silent voice stays silent


def test_gradient_steps_lower_the_parallels_the_logits_imply():
    torch.manual_seed(0)
    given = _voices([[31, 33, 35, 36]], p=48)  # the upper voice, given
    logits = torch.full((1, 1, 4, 48), -6.0)
    logits[0, 0, :, 24:28] = 0.0  # the lower voice: unsure between a few rows
    logits.requires_grad_(True)
    opt = torch.optim.Adam([logits], lr=0.1)

    def loss() -> torch.Tensor:
        return expected_parallels(torch.cat([given, voice_pitch_probs(logits)], dim=1)).mean()

    first = float(loss().detach())
    for _ in range(30):
        opt.zero_grad()
        value = loss()
        value.backward()
        opt.step()
    assert first > 0.0 and float(loss().detach()) < 0.5 * first
    assert np.isfinite(logits.detach().numpy()).all()
