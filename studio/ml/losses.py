"""Training losses on the music itself (torch, no Qt).

`expected_parallels`: how many parallel fifths and octaves the generator's pitch
probabilities imply, as a differentiable number. The voicing rules forbid consecutive
perfects at decoding time; read alone, the network wrote them at 12-17× Bach's rate
(models/bach-default.md). This term teaches the network what the rules enforce, so the
music holds without them (`pianola train --voice-leading-weight`).

`note_length_histogram` / `length_divergence`: how far each voice's note lengths, as the
generator's probabilities imply them, are from the music's in the same windows
(`pianola train --length-weight`). Fine-tunes that lengthened the notes lengthened them
all, where Bach has more of both the shortest and the longest (models/bach-default.md,
*What next*): this term asks for the whole distribution, not its mean. Measured on the
default model's recipe it is gamed: the network moves its one-pass marginals to satisfy
it, and the music the voice reading makes of them loses its long notes (model card,
*Stop 33*). Kept, off by default, to reproduce that and as a building block.
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


def note_length_histogram(
    frames: torch.Tensor,
    onsets: torch.Tensor,
    starts: torch.Tensor,
    longest: int,
    threshold: float = 0.0,
    softness: float = 0.05,
) -> torch.Tensor:
    """Expected notes per voice by length in steps, ``[V, longest]``, summed over the batch.

    ``frames``/``onsets`` ``[B, V, S, P]``: per voice, step and pitch row the probability
    that it sounds there and that a note starts there (one-hot for given music; an onset
    row is never above its frame row). ``starts`` ``[B, V, S]`` weighs the notes by the
    step they start on (1 where the generator wrote them, 0 where the music was given).
    Bin ``k`` counts notes of ``k + 1`` steps; the last bin every note of ``longest`` steps
    or more. A note starts where the voice has an onset; it goes on into the next step
    when the voice sounds there without an onset (its frame mass minus its onset mass:
    the network's own belief of where its notes end, not whether its pitch rows agree from
    step to step, which a hedging pitch would make look short). Steps are taken as
    independent (mean field). Only notes starting on steps 1 … S - ``longest`` are
    counted, so that every bin of each of them lies inside the window (a note still held
    at the window's end would otherwise count as short).

    ``threshold`` > 0 reads a step's onset as the voice reading does (a strike where the
    onset mass passes that share of the sounding mass), softened by a logistic of width
    ``softness`` so that it keeps a gradient: onsets at 0.3 on every step then count as
    holds, as the reading holds them, where the mean field (``threshold`` 0) counts them
    as notes ending a third of the time. Music's 0/1 onsets read the same either way.
    """
    _, v, s, _ = frames.shape
    if s <= longest + 1:
        return frames.new_zeros(v, longest)
    # A voice sings one pitch: scale each step's rows to sum to at most 1.
    scale = frames.sum(dim=-1, keepdim=True).clamp_min(1.0)
    begins = (onsets / scale).sum(dim=-1)  # [B, V, S]
    sounding = (frames / scale).sum(dim=-1)
    if threshold > 0:
        share = begins / sounding.clamp_min(1e-6)
        begins = sounding * torch.sigmoid((share - threshold) / softness)
    goes_on = (sounding - begins).clamp(0.0, 1.0)
    first, last = 1, s - longest  # start steps counted, inclusive
    alive = begins[:, :, first : last + 1] * starts[:, :, first : last + 1]
    bins = []
    for length in range(1, longest):
        after = goes_on[:, :, first + length : last + 1 + length]
        bins.append((alive * (1 - after)).sum(dim=(0, 2)))
        alive = alive * after
    bins.append(alive.sum(dim=(0, 2)))
    return torch.stack(bins, dim=1)


def length_divergence(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Jensen-Shannon divergence (nats) between two ``[V, bins]`` note-length histograms,
    each voice's normalised to a distribution, averaged over the voices with notes in both."""
    eps = 1e-8
    has = (fake.sum(dim=1) > eps) & (real.sum(dim=1) > eps)
    if not bool(has.any()):
        return fake.new_zeros(())
    f = fake[has] / fake[has].sum(dim=1, keepdim=True)
    r = real[has] / real[has].sum(dim=1, keepdim=True)
    mid = 0.5 * (f + r)

    def kl(a: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return (a * (torch.log(a + eps) - torch.log(c + eps))).sum(dim=1)

    return (0.5 * kl(f, mid) + 0.5 * kl(r, mid)).mean()
