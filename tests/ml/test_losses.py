"""The losses on the music: they count what a teacher counts, and training can lower them."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch

from studio.ml.losses import (
    expected_parallels,
    length_divergence,
    note_length_histogram,
    voice_pitch_probs,
)


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


def _descend(
    loss: Callable[[], torch.Tensor], param: torch.Tensor, steps: int
) -> tuple[float, float]:
    """The loss before and after ``steps`` Adam steps (lr 0.1) on ``param``."""
    opt = torch.optim.Adam([param], lr=0.1)
    first = float(loss().detach())
    for _ in range(steps):
        opt.zero_grad()
        loss().backward()
        opt.step()
    return first, float(loss().detach())


def test_gradient_steps_lower_the_parallels_the_logits_imply():
    torch.manual_seed(0)
    given = _voices([[31, 33, 35, 36]], p=48)  # the upper voice, given
    logits = torch.full((1, 1, 4, 48), -6.0)
    logits[0, 0, :, 24:28] = 0.0  # the lower voice: unsure between a few rows
    logits.requires_grad_(True)

    def loss() -> torch.Tensor:
        return expected_parallels(torch.cat([given, voice_pitch_probs(logits)], dim=1)).mean()

    first, last = _descend(loss, logits, 30)
    assert first > 0.0 and last < 0.5 * first
    assert np.isfinite(logits.detach().numpy()).all()


def _notes(lengths: list[int], row: int = 10, p: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    """One voice's one-hot frame and onset planes ``[1, 1, S, P]`` for notes of these
    lengths in steps, one after another, alternating between two pitch rows (0: a rest
    of one step)."""
    frames, onsets = [], []
    for k, length in enumerate(lengths):
        for s in range(max(length, 1)):
            f, o = torch.zeros(p), torch.zeros(p)
            if length:
                f[row + k % 2] = 1.0
                o[row + k % 2] = float(s == 0)
            frames.append(f)
            onsets.append(o)
    return torch.stack(frames)[None, None], torch.stack(onsets)[None, None]


def test_one_hot_notes_are_counted_by_their_length():
    # Starts counted: steps 1 .. S - 4 (= 20 - 4 = 16). The first note starts on step 0.
    frames, onsets = _notes([1, 2, 1, 3, 4, 6, 2, 1])  # 20 steps
    starts = torch.ones(frames.shape[:3])
    hist = note_length_histogram(frames, onsets, starts, longest=4)
    # starting on steps 1 (2), 3 (1), 4 (3), 7 (4), 11 (6 -> "4 or more"); 17 and 19 too late
    assert hist.tolist() == [[1.0, 1.0, 1.0, 2.0]]
    # A repeated pitch is a new note: its onset ends the one before.
    frames = torch.zeros(1, 1, 20, 16)
    frames[..., 10] = 1.0
    onsets = torch.zeros_like(frames)
    onsets[0, 0, ::4, 10] = 1.0
    hist = note_length_histogram(frames, onsets, torch.ones(1, 1, 20), longest=8)
    assert hist.tolist() == [[0, 0, 0, 3.0, 0, 0, 0, 0]]  # starts 4, 8 and 12; 16 too late
    # A rest ends a note.
    frames, onsets = _notes([3, 0, 5, 0, 3, 0, 5])  # 19 steps
    hist = note_length_histogram(frames, onsets, torch.ones(frames.shape[:3]), longest=8)
    assert hist.tolist() == [[0, 0, 1.0, 0, 1.0, 0, 0, 0]]  # steps 4 (5) and 10 (3)


def test_only_notes_starting_where_the_generator_wrote_are_counted():
    frames, onsets = _notes([2, 2, 2, 4, 4, 2, 2, 2])
    starts = torch.zeros(1, 1, 20)
    assert float(note_length_histogram(frames, onsets, starts, 4).sum()) == 0.0
    starts[0, 0, 6] = 1.0  # the quarter starting on step 6
    assert note_length_histogram(frames, onsets, starts, 4).tolist() == [[0, 0, 0, 1.0]]


def test_uncertain_onsets_spread_the_expected_lengths():
    """An onset believed at one half on every step: lengths 1, 2, 3 … at 1/2, 1/4, 1/8 …"""
    frames = torch.zeros(1, 1, 40, 4)
    frames[..., 1] = 1.0
    onsets = frames * 0.5
    hist = note_length_histogram(frames, onsets, torch.ones(1, 1, 40), longest=4)[0]
    share = hist / hist.sum()
    assert share.tolist() == pytest.approx([0.5, 0.25, 0.125, 0.125])


def test_the_divergence_is_zero_only_for_the_same_shares():
    a = torch.tensor([[1.0, 2.0, 1.0], [0.0, 4.0, 4.0]])
    assert float(length_divergence(a, 3 * a)) == pytest.approx(0.0, abs=1e-6)
    b = torch.tensor([[2.0, 1.0, 1.0], [0.0, 4.0, 4.0]])
    d = float(length_divergence(a, b))
    assert 0.0 < d < np.log(2) and d == pytest.approx(float(length_divergence(b, a)))
    # A voice with no notes on one side is left out rather than counted as far.
    c = torch.tensor([[1.0, 2.0, 1.0], [0.0, 0.0, 0.0]])
    assert float(length_divergence(c, b)) == pytest.approx(2 * d, rel=1e-5)
    assert float(length_divergence(torch.zeros(2, 3), b)) == 0.0


def test_gradient_steps_bring_hedged_onsets_to_the_music_s_lengths():
    """A voice unsure on every step (onset 0.5) against music in half notes: the loss moves
    the onset logits until most of the mass is in half notes."""
    frames_real, onsets_real = _notes([8] * 8, p=4, row=1)  # 64 steps of half notes
    starts = torch.ones(1, 1, 64)
    target = note_length_histogram(frames_real, onsets_real, starts, longest=8)
    logits = torch.zeros(1, 1, 64, 1, requires_grad=True)

    def loss() -> torch.Tensor:
        onsets = frames_real * torch.sigmoid(logits)
        return length_divergence(note_length_histogram(frames_real, onsets, starts, 8), target)

    first, last = _descend(loss, logits, 100)
    assert first > 0.2 and last < 0.2 * first


def test_read_as_the_voice_reading_does_unsure_onsets_are_holds():
    """With a threshold, onsets at 0.3 on every step are read as holds (one long note per
    start), and at 0.7 as a strike on every step; music's 0/1 onsets read the same."""
    frames = torch.zeros(1, 1, 40, 4)
    frames[..., 1] = 1.0
    starts = torch.ones(1, 1, 40)
    unsure = note_length_histogram(frames, frames * 0.3, starts, longest=4, threshold=0.5)[0]
    assert float(unsure[-1] / unsure.sum()) > 0.9
    sure = note_length_histogram(frames, frames * 0.7, starts, longest=4, threshold=0.5)[0]
    assert float(sure[0] / sure.sum()) > 0.9
    frames, onsets = _notes([1, 2, 1, 3, 4, 6, 2, 1])
    starts = torch.ones(frames.shape[:3])
    plain = note_length_histogram(frames, onsets, starts, 4)
    read = note_length_histogram(frames, onsets, starts, 4, threshold=0.5)
    assert read[0].tolist() == pytest.approx(plain[0].tolist(), abs=1e-3)
