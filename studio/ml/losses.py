"""Training losses on the music itself (torch, no Qt).

`expected_parallels`: how many parallel fifths and octaves the generator's pitch
probabilities imply, as a differentiable number. The voicing rules forbid consecutive
perfects at decoding time; read alone, the network wrote them at 12-17× Bach's rate
(models/bach-default.md). This term teaches the network what the rules enforce, so the
music holds without them (`pianola train --voice-leading-weight`).
"""

from __future__ import annotations

import torch

# Upper minus lower voice, in semitones, that is a unison, fifth or octave (compound too).
PERFECT = tuple(k for k in range(0, 128) if k % 12 in (0, 7))
# Steps both voices take together: up to a fifth either way (wider leaps in parallel
# are rare in the data and would cost a loop pass each).
MOTIONS = tuple(u for u in range(-7, 8) if u)


def voice_pitch_probs(frame_logits: torch.Tensor) -> torch.Tensor:
    """``[B, V, S, P]`` logits -> the probability that each voice sounds each pitch row,
    ``σ`` per row scaled so a step's rows sum to at most 1 (a voice sings one pitch)."""
    p = torch.sigmoid(frame_logits)
    return p / p.sum(dim=-1, keepdim=True).clamp_min(1.0)


def expected_parallels(
    probs: torch.Tensor, pairs: list[tuple[int, int]] | None = None
) -> torch.Tensor:
    """Expected parallel fifths and octaves per pair of voices and step, ``[B]``.

    ``probs`` ``[B, V, S, P]``: per voice, step and pitch row the probability it sounds
    there (one-hot for given music). Voices are taken as independent given the step
    (mean field): a pair moves in parallel from step s-1 to s when both move by the same
    interval u ≠ 0 (up to a fifth either way, `MOTIONS`) while a perfect interval apart
    (upper minus lower ∈ `PERFECT`). Moving by u and v with u ≡ v (mod 12) but u ≠ v
    (an octave and more apart) is not counted.
    ``pairs`` ``(upper, lower)`` voice indices; default every adjacent pair, listed top
    down (S-A, A-T, T-B), as `studio.ml.metrics.voice_leading` counts them.
    """
    b, v, s, p = probs.shape
    if v < 2 or s < 2:
        return probs.new_zeros(b)
    pairs = pairs if pairs is not None else [(k, k + 1) for k in range(v - 1)]
    upper = torch.tensor([i for i, _ in pairs], device=probs.device)
    lower = torch.tensor([j for _, j in pairs], device=probs.device)
    before, after = probs[:, :, :-1], probs[:, :, 1:]
    total = probs.new_zeros(b, len(pairs), s - 1)
    for u in MOTIONS:
        # move[a] = P(voice at row a before, at row a + u after)
        if u > 0:
            move = before[..., : p - u] * after[..., u:]
        else:
            move = before[..., -u:] * after[..., : p + u]
        hi, lo = move[:, upper], move[:, lower]  # [B, pairs, S-1, P-|u|]
        width = hi.shape[-1]
        for k in PERFECT:
            if k >= width:
                break
            # upper at row a, lower at row a - k
            total = total + (hi[..., k:] * lo[..., : width - k]).sum(dim=-1)
    return total.mean(dim=(1, 2))
