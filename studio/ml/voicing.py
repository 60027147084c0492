"""Reading monophonic voices (the Bach S, A, T, B) from the generator's planes.

The generator gives, per voice, step and pitch, the probability that the pitch sounds
(frame) and that a note starts there (onset). `decode_voice` walks the steps left to
right holding one pitch at a time:

* the voice sounds while its frame probabilities, summed over pitches, pass
  ``sounding_threshold``;
* a sounding note is held until an onset is likely on it (a repeated note) or another
  pitch has become ``fade_ratio`` times as likely (a new pitch), and never for less than
  ``shortest_note`` steps; new notes inside a sounding line start on the
  ``onset_grid`` (eighths on a 16th grid), which is where chorale voices move;
* which pitch starts is the most likely onset, with a repeated pitch scaled by
  ``repeat_penalty``: a voice that re-strikes its own pitch whenever the network
  hesitates turns into a drone (the bundled model repeated 31% of its notes, Bach 15%).

With ``rules`` on, the voice also obeys the two voice-leading rules a composition
teacher checks first, against every voice already fixed (given or decoded earlier): no
parallel fifths or octaves/unisons (both voices move to a new pitch in the same
direction and form the same perfect interval as a step before) and no crossing
(the voice stays between its neighbours). A held note never makes a parallel, so the
voice can always hold instead of breaking a rule.

`studio.ml.sample.run_windows` decodes the outer voices first, then the inner ones,
each against those already fixed, and then refines (``refine_rounds``): each voice
is hidden in turn and redrawn by the same network given all the others, the blocked
Gibbs sampling of Huang et al., "Counterpoint by Convolution" (ISMIR 2017). The
network was trained to fill any subset of tracks, so this asks it nothing new; it lets
every voice answer the others instead of all four being guessed at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from studio.core.pianoroll import HOLD, ONSET


@dataclass(frozen=True)
class VoiceDecoding:
    """How voices are read from the network (values tuned on the bundled Bach model;
    see models/bach-default.md for the measurements)."""

    sounding_threshold: float = 0.2
    fade_ratio: float = 2.0
    shortest_note: int = 2  # steps before a sounding voice may move on
    onset_grid: int = 2  # steps; 1 lets a sounding voice move on any step
    repeat_penalty: float = 0.3  # 1: no penalty
    rules: bool = True  # no parallel fifths/octaves, no crossings
    refine_rounds: int = 2  # 0: one pass, every voice at once

    def __post_init__(self) -> None:
        if self.refine_rounds < 0:
            raise ValueError(f"refine_rounds must be >= 0, got {self.refine_rounds}")
        if self.shortest_note < 1 or self.onset_grid < 1:
            raise ValueError("shortest_note and onset_grid must be >= 1")


@dataclass(frozen=True)
class FixedVoice:
    """A voice whose notes are settled: its highest sounding pitch row per step
    (``[N, S]``, -1 = silent) and whether it lies below the voice being decoded."""

    top: torch.Tensor
    below: bool


def voice_order(monophonic: Sequence[bool]) -> list[int]:
    """Outer voices first (top, bottom), then the inner ones from the top: the order a
    chorale is harmonised in, so inner voices are fitted between settled outer ones."""
    mono = [k for k, is_mono in enumerate(monophonic) if is_mono]
    if len(mono) <= 2:
        return mono
    return [mono[0], mono[-1], *mono[1:-1]]


def forbidden_pitches(
    current: torch.Tensor, step: int, fixed: Sequence[FixedVoice], n_pitches: int
) -> torch.Tensor:
    """``[N, P]``: pitch rows a new note at ``step`` may not take, given the voice's
    ``current`` pitch (``[N]``, -1 = silent at the previous step)."""
    n = current.shape[0]
    cand = torch.arange(n_pitches)[None, :]
    out = torch.zeros(n, n_pitches, dtype=torch.bool)
    for voice in fixed:
        now = voice.top[:, step]
        sounding = (now >= 0)[:, None]
        crosses = cand < now[:, None] if voice.below else cand > now[:, None]
        out |= crosses & sounding
        if step == 0:
            continue
        prev = voice.top[:, step - 1]
        other_moves = (prev >= 0) & (now >= 0) & (now != prev) & (current >= 0)
        # Intervals are measured upper voice minus lower voice, as a teacher reads them.
        if voice.below:
            before = (current - prev) % 12
            after = (cand - now[:, None]) % 12
        else:
            before = (prev - current) % 12
            after = (now[:, None] - cand) % 12
        perfect = (after == 0) | (after == 7)
        same_way = torch.sign(cand - current[:, None]) == torch.sign(now - prev)[:, None]
        moves = cand != current[:, None]
        out |= (before[:, None] == after) & perfect & same_way & moves & other_moves[:, None]
    return out


def decode_voice(
    frame: torch.Tensor,
    onset: torch.Tensor,
    settings: VoiceDecoding,
    fixed: Sequence[FixedVoice] = (),
    given_top: torch.Tensor | None = None,
    given_onset: torch.Tensor | None = None,
    known: torch.Tensor | None = None,
    temperature: float = 0.0,
    strike_threshold: float = 0.5,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """One voice ``[N, S, P]`` (int8 OFF/HOLD/ONSET) from its frame and onset
    probabilities (``[N, S, P]``).

    Where ``known`` (``[N, S]``) is set, the voice follows the given notes
    (``given_top`` pitch rows, ``given_onset`` flags) instead, so a continuation picks up
    the given line's last note and the rules see the given pitches.
    """
    n, s, p = frame.shape
    out = torch.zeros(n, s, p, dtype=torch.int8)
    rows = torch.arange(n)
    current = torch.full((n,), -1, dtype=torch.long)
    age = torch.zeros(n, dtype=torch.long)
    rules = list(fixed) if settings.rules else []
    sounding_p = frame.sum(dim=2).clamp(0.0, 1.0)
    strike_score = onset * frame  # "a note of this pitch starts here"
    if temperature > 0:

        def sharpen(q: torch.Tensor) -> torch.Tensor:
            return torch.sigmoid(torch.logit(q.clamp(1e-6, 1 - 1e-6)) / temperature)

        sounds = torch.rand(n, s, generator=generator) < sharpen(sounding_p)
        strike_draw = torch.rand(n, s, generator=generator)
    else:
        sounds = sounding_p > settings.sounding_threshold
    for step in range(s):
        previous = current
        held_row = current.clamp_min(0)
        held = frame[rows, step, held_row]
        banned = (
            forbidden_pitches(current, step, rules, p)
            if rules
            else torch.zeros(n, p, dtype=torch.bool)
        )
        score = strike_score[:, step].clone()
        score[rows, held_row] *= torch.where(current >= 0, settings.repeat_penalty, 1.0)
        score = score.masked_fill(banned, 0.0)
        any_allowed = (score > 0).any(dim=1)
        # With every pitch banned (rare: boxed in by both neighbours) the rules yield.
        score = torch.where(any_allowed[:, None], score, strike_score[:, step])
        if temperature > 0:
            weights = (score.clamp_min(1e-12).log() / temperature).softmax(dim=1)
            choice = torch.multinomial(weights, 1, generator=generator).squeeze(1)
            strike_p = onset[rows, step, held_row] / held.clamp_min(1e-6)
            strike = strike_draw[:, step] < sharpen(strike_p)
        else:
            choice = score.argmax(dim=1)
            strike = onset[rows, step, held_row] / held.clamp_min(1e-6) > strike_threshold
        best_allowed = frame[:, step].masked_fill(banned & any_allowed[:, None], 0.0).max(dim=1)
        faded = held * settings.fade_ratio < best_allowed.values
        may_move = (age >= settings.shortest_note) & (step % settings.onset_grid == 0)
        on = sounds[:, step]
        start = on & ((current < 0) | ((strike | faded) & may_move))
        current = torch.where(start, choice, current)
        current = torch.where(on, current, torch.full_like(current, -1))
        if known is not None and given_top is not None and given_onset is not None:
            k = known[:, step]
            given_start = given_onset[:, step] | (given_top[:, step] != previous)
            start = torch.where(k, given_start & (given_top[:, step] >= 0), start)
            current = torch.where(k, given_top[:, step], current)
        age = torch.where(start, torch.zeros_like(age), age) + 1
        sounding = current >= 0
        out[rows[sounding], step, current[sounding]] = HOLD
        out[rows[start], step, current[start]] = ONSET
    return out
