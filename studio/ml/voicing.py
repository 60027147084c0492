"""Reading monophonic voices (the Bach S, A, T, B) from the generator's planes.

The generator gives, per voice, step and pitch, the probability that the pitch sounds
(frame) and that a note starts there (onset). `decode_voice` walks the steps left to
right holding one pitch at a time:

* the voice sounds while its frame probabilities, summed over pitches, pass
  ``sounding_threshold``;
* a sounding note is held until an onset is likely on it (a repeated note) or another
  pitch has become ``fade_ratio`` times as likely (a new pitch), and never for less than
  ``shortest_note`` steps; new notes inside a sounding line start on the
  ``onset_grid`` (eighths on a 16th grid), which is where chorale voices move, and
  off it only where the network is sure of the new note (``offgrid_strike``, which
  ``shortest_note`` does not hold back): the sixteenth passing notes, not every
  hesitation;
* which pitch starts is the most likely onset, with a repeated pitch scaled by
  ``repeat_penalty``: a voice that re-strikes its own pitch whenever the network
  hesitates turns into a drone (the bundled model repeated 31% of its notes, Bach 15%).

With ``rules`` on, the voice also obeys the two voice-leading rules a composition
teacher checks first, against every voice already fixed (given or decoded earlier): no
consecutive fifths or octaves/unisons (both voices move to a new pitch and form the same
perfect interval class as a step before, in similar motion or in contrary motion such
as octave to unison or fifth to twelfth) and no crossing (the voice stays between its
neighbours). A held note never makes consecutive perfects, so the
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
from dataclasses import dataclass, replace
from typing import TypeAlias

import numpy as np
import torch

from studio.core.pianoroll import HOLD, ONSET

# Random draws: one generator for a batch, or one per variation (its draws then depend on
# that variation's seed alone, not on the batch it is made in).
Noise: TypeAlias = torch.Generator | Sequence[torch.Generator] | None


# Semitones a voice may move between its eighths in the sixteenths pass (a step).
SIXTEENTH_STEP = 2


def uniform(n: int, row_shape: tuple[int, ...], noise: Noise) -> torch.Tensor:
    """``[n, *row_shape]`` uniform draws in [0, 1); row ``i`` from generator ``i`` when
    ``noise`` is a sequence of ``n`` generators."""
    if noise is None or isinstance(noise, torch.Generator):
        return torch.rand((n, *row_shape), generator=noise)
    if len(noise) != n:
        raise ValueError(f"{len(noise)} noise generators for {n} variations")
    return torch.stack([torch.rand(row_shape, generator=g) for g in noise])


@dataclass(frozen=True)
class VoiceDecoding:
    """How voices are read from the network (values tuned on the bundled Bach model;
    see models/bach-default.md for the measurements)."""

    sounding_threshold: float = 0.2
    # A sounding voice falls silent only below this (hysteresis). The network's frame mass
    # dips to 0.15-0.2 where one note hands over to the next; read with one threshold, the
    # voice stopped there for a step or two and re-entered, often with a one-step note:
    # rests and "sixteenths" Bach never writes (see models/bach-default.md). Equal to
    # ``sounding_threshold``: no hysteresis.
    sounding_release: float = 0.05
    fade_ratio: float = 2.0
    shortest_note: int = 2  # steps before a sounding voice may move on the grid
    onset_grid: int = 2  # steps; 1 lets a sounding voice move on any step
    repeat_penalty: float = 0.3  # 1: no penalty
    # Off the onset grid a sounding voice moves only where the network is this sure of the
    # new note (its onset x frame probability): Bach's sixteenth passing notes, without the
    # flicker of every hesitation (see models/bach-default.md). Above 1: never.
    offgrid_strike: float = 0.5
    rules: bool = True  # no consecutive fifths/octaves, no crossings
    refine_rounds: int = 2  # 0: one pass, every voice at once
    # Rounds after those in which each voice is redrawn in two passes, alternate beats
    # hidden (odd beats, then even ones), so every note is chosen with the voice's own
    # notes on either side in view. A whole hidden voice is read step by step from
    # marginals that cannot see its neighbours: the lines leap between chord tones
    # (models/bach-default.md, "By beats"). 0: none.
    beat_rounds: int = 0
    # The temperature the beat passes draw at (None: the request's, 0 unless the composer
    # raises it). Read greedily, the passes settle every voice on the safest note
    # between its neighbours: held notes and repeats pile up (models/bach-default.md,
    # "By beats"); drawn, the lines keep Bach's motion. Seeded: the same seed gives the
    # same music.
    beat_temperature: float | None = None
    # In drawn passes, on each beat step, whether a sounding voice holds its note, strikes
    # it again or moves on is one draw from the network's own masses for the three
    # (frame - onset of the held pitch, its onset, the onsets of the other allowed
    # pitches) instead of the strike ratio and ``fade_ratio`` tests, which hold a note
    # about 1.5x as often as the network does (models/bach-default.md, "What holds the
    # inner voices"). Off the beat the tests stay: there the network's onset mass would
    # write eighths on half the steps. False: the tests everywhere.
    drawn_beat_moves: bool = False
    # Whether a sounding voice may strike its own pitch again off the beat. Bach's lower
    # voices never do in the held-out chorales (0 of ~3,200 alto, tenor and bass onsets on an
    # off-beat eighth; the soprano 2%), while the network's onset odds for the held pitch
    # re-strike a third of the alto's off-beat onsets: hammered eighths Bach does not write
    # (models/bach-default.md, "Off-beat repeats"). False: off the beat a voice that would
    # strike its own pitch again holds it instead. A rule, like ``rules``, not the network.
    offbeat_repeats: bool = True
    # The temperature of a last pass over each window that hides every voice's steps off
    # the onset grid (the sixteenths), everything else given, and draws at each whether a
    # sounding voice holds or moves on (`hold_or_move_between`): a network trained on such
    # windows (`TrainConfig.offgrid_share`) knows a voice's eighths on either side, which
    # is where Bach puts his sixteenth passing notes. None: no such pass; off the grid
    # only the ``offgrid_strike`` test moves a voice, which a network that must guess a
    # whole beat is rarely sure enough to pass (models/bach-default.md, "Sixteenths").
    sixteenth_temperature: float | None = None

    @property
    def passes_per_voice(self) -> int:
        """Network passes each voice gets after the first pass over all of them."""
        return self.refine_rounds + 2 * self.beat_rounds

    @property
    def one_pass(self) -> VoiceDecoding:
        """This reading without refinement: the draft."""
        return replace(self, refine_rounds=0, beat_rounds=0, sixteenth_temperature=None)

    def __post_init__(self) -> None:
        for name in ("beat_temperature", "sixteenth_temperature"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= 5:
                raise ValueError(f"{name} must be in [0, 5], got {value}")
        if self.refine_rounds < 0 or self.beat_rounds < 0:
            raise ValueError(
                f"refine_rounds and beat_rounds must be >= 0, got {self.refine_rounds}, "
                f"{self.beat_rounds}"
            )
        if not 0 <= self.sounding_release <= self.sounding_threshold <= 1:
            raise ValueError("need 0 <= sounding_release <= sounding_threshold <= 1")
        if self.shortest_note < 1 or self.onset_grid < 1:
            raise ValueError("shortest_note and onset_grid must be >= 1")


@dataclass(frozen=True)
class FixedVoice:
    """A voice whose notes are settled: its highest sounding pitch row per step
    (``[N, S]``, -1 = silent) and whether it lies below the voice being decoded."""

    top: np.ndarray
    below: bool


def voice_order(monophonic: Sequence[bool]) -> list[int]:
    """Outer voices first (top, bottom), then the inner ones from the top: the order a
    chorale is harmonised in, so inner voices are fitted between settled outer ones."""
    mono = [k for k, is_mono in enumerate(monophonic) if is_mono]
    if len(mono) <= 2:
        return mono
    return [mono[0], mono[-1], *mono[1:-1]]


class VoiceRules:
    """What the settled voices forbid a new note of the voice being decoded.

    Everything that does not depend on the voice's own pitch is worked out for all
    steps at once (numpy, not torch: the step loop works on arrays of a few thousand
    cells, where torch's per-call overhead would cost more than the arithmetic).
    """

    def __init__(self, fixed: Sequence[FixedVoice], n_pitches: int) -> None:
        tops = np.stack([np.asarray(v.top, np.int64) for v in fixed])  # [V, N, S]
        self.below = np.array([v.below for v in fixed])
        self.cand = np.arange(n_pitches)
        sounding = tops >= 0
        below, above = self.below[:, None, None], ~self.below[:, None, None]
        # No crossing: stay at or above every lower voice, at or below every upper one.
        self.floor = np.where(sounding & below, tops, -1).max(axis=0)  # [N, S]
        self.ceiling = np.where(sounding & above, tops, n_pitches).min(axis=0)
        prev = np.concatenate([np.full_like(tops[:, :, :1], -1), tops[:, :, :-1]], axis=2)
        self.prev = prev
        self.moves = (prev >= 0) & sounding & (tops != prev)  # [V, N, S]
        self.tops = tops

    def banned(
        self,
        current: np.ndarray,
        step: int,
        last: np.ndarray | None = None,
        last_step: np.ndarray | None = None,
    ) -> np.ndarray:
        """``[N, P]``: pitch rows a new note at ``step`` may not take, given the voice's
        ``current`` pitch (``[N]``, -1 = silent at the previous step).

        ``last`` and ``last_step`` (``[N]``): the voice's last sounding pitch and the step
        it sounded on (-1: not yet); default ``current`` at ``step - 1``. A voice that
        rests between two notes moves from its last note, and a rest does not hide
        consecutive fifths from a teacher (or from `studio.ml.quality`'s count).
        """
        cand = self.cand[None, :]
        out = (cand < self.floor[:, step, None]) | (cand > self.ceiling[:, step, None])
        if last is None or last_step is None or (last_step == step - 1).all():
            last, prev = current, self.prev[:, :, step]  # every row sounded a step ago
            moving = self.moves[:, :, step] & (current >= 0)[None, :]  # [V, N]
        else:
            # Where each settled voice was when this one last sounded.
            rows = np.arange(len(last))
            prev = np.where(last_step >= 0, self.tops[:, rows, np.maximum(last_step, 0)], -1)
            now = self.tops[:, :, step]
            moving = (prev >= 0) & (now >= 0) & (now != prev) & (last >= 0)[None, :]
        if not moving.any():
            return out
        own_minus_other = last[None, :] - prev
        before = np.where(self.below[:, None], own_minus_other, -own_minus_other) % 12
        # Intervals upper minus lower voice, as a teacher reads them: [V, N, P] (per step,
        # only where a voice moves: the whole [V, N, S, P] cost 2.7 ms a voice up front).
        diff = self.cand[None, None, :] - self.tops[:, :, step, None]
        after = np.where(self.below[:, None, None], diff, -diff) % 12
        perfect_after = (after == 0) | (after == 7)
        # Similar and contrary motion alike: a teacher marks octave -> unison as well.
        consecutive = (before[:, :, None] == after) & perfect_after & moving[:, :, None]
        # Taking up the last note again is no motion, so never a consecutive.
        return out | (consecutive.any(axis=0) & (cand != last[:, None]))

    def banned_into(self, step: np.ndarray, target: np.ndarray) -> np.ndarray:
        """``[N, P]``: pitch rows from which the voice may not move to its next given note,
        ``target`` (``[N]`` pitch rows, -1: none) at ``step`` (``[N]``): those that would
        make consecutive fifths or octaves with a settled voice moving there too. Where
        the voice is hidden between given notes (a beat-interleaved pass), a new note
        must also lead into what follows it."""
        n = len(target)
        rows = np.arange(n)
        s = np.clip(step, 1, self.tops.shape[2] - 1)
        now, prev = self.tops[:, rows, s], self.tops[:, rows, s - 1]  # [V, N]
        valid = (target >= 0) & (step >= 1)
        moving = (prev >= 0) & (now >= 0) & (now != prev) & valid[None, :]
        out = np.zeros((n, len(self.cand)), bool)
        if not moving.any():
            return out
        own_minus_other = target[None, :] - now
        after = np.where(self.below[:, None], own_minus_other, -own_minus_other) % 12
        perfect = ((after == 0) | (after == 7)) & moving
        diff = self.cand[None, None, :] - prev[:, :, None]  # [V, N, P]
        before = np.where(self.below[:, None, None], diff, -diff) % 12
        consecutive = (before == after[:, :, None]) & perfect[:, :, None]
        # Holding the note into the given one is no motion of this voice.
        return consecutive.any(axis=0) & (self.cand[None, :] != target[:, None])


def forbidden_pitches(
    current: np.ndarray,
    step: int,
    fixed: Sequence[FixedVoice],
    n_pitches: int,
    last: np.ndarray | None = None,
    last_step: np.ndarray | None = None,
) -> np.ndarray:
    """``[N, P]``: pitch rows a new note at ``step`` may not take (see `VoiceRules`)."""
    last_rows = None if last is None else np.asarray(last, np.int64)
    last_steps = None if last_step is None else np.asarray(last_step, np.int64)
    rules = VoiceRules(fixed, n_pitches)
    return rules.banned(np.asarray(current, np.int64), step, last_rows, last_steps)


def hold_strike_or_move(
    held: np.ndarray,
    onset: np.ndarray,
    held_row: np.ndarray,
    banned: np.ndarray | None,
    uniform_draws: np.ndarray,
    temperature: float,
) -> tuple[np.ndarray, np.ndarray]:
    """``(strike, move)`` per row (``[N]`` bool): one draw among holding the sounding note
    (its frame ``held`` minus its onset), striking it again (its onset) and moving on
    (the onsets ``[N, P]`` of the other pitches not ``banned``), their masses sharpened
    by ``temperature`` (`VoiceDecoding.drawn_beat_moves`)."""
    rows = np.arange(len(held))
    again = onset[rows, held_row]
    others = onset.copy()  # a note of this pitch starts here
    others[rows, held_row] = 0.0
    if banned is not None:
        others[banned] = 0.0
    masses = np.stack([np.maximum(held - again, 0.0), again, others.sum(axis=1)], axis=1)
    return _strike_or_move(masses, uniform_draws, temperature)


def _strike_or_move(
    masses: np.ndarray, uniform_draws: np.ndarray, temperature: float
) -> tuple[np.ndarray, np.ndarray]:
    """``(strike, move)`` per row from one draw among ``[N, 3]`` masses (hold, strike,
    move) sharpened by ``temperature``."""
    edges = np.cumsum(masses ** (1.0 / temperature), axis=1)
    edges /= np.maximum(edges[:, -1:], 1e-12)
    strike = (uniform_draws >= edges[:, 0]) & (uniform_draws < edges[:, 1])
    return strike, uniform_draws >= edges[:, 1]


def hold_or_move_between(
    held: np.ndarray,
    onset: np.ndarray,
    strike_score: np.ndarray,
    held_row: np.ndarray,
    banned: np.ndarray | None,
    uniform_draws: np.ndarray,
    temperature: float,
) -> tuple[np.ndarray, np.ndarray]:
    """``(strike, move)`` per row (``[N]`` bool) at a step between a voice's given eighths
    (the sixteenths pass): one draw among holding the sounding note (its frame ``held``
    minus its onset), striking it again (its onset) and leaving it (one minus its frame),
    sharpened by ``temperature``. The held pitch's own cells carry the odds: there the
    network answers a common question (does this note go on?) where the other pitches'
    onsets, summed over the rows, add up their small sigmoids into a move on about one
    step in sixteen (models/bach-default.md, "Sixteenths"). The leaving mass shrinks by the
    share of the other pitches' ``strike_score`` (``[N, P]``) that is ``banned``: a
    move the rules forbid becomes a hold, not a move to a pitch the network did not want."""
    rows = np.arange(len(held))
    again = onset[rows, held_row]
    others = strike_score.copy()
    others[rows, held_row] = 0.0
    total = others.sum(axis=1)
    if banned is not None:
        others[banned] = 0.0
    allowed = np.where(total > 0, others.sum(axis=1) / np.maximum(total, 1e-12), 0.0)
    leave = np.maximum(1.0 - held, 0.0) * allowed
    masses = np.stack([np.maximum(held - again, 0.0), again, leave], axis=1)
    return _strike_or_move(masses, uniform_draws, temperature)


def decode_voice(
    frame: np.ndarray,
    onset: np.ndarray,
    settings: VoiceDecoding,
    fixed: Sequence[FixedVoice] = (),
    given_top: np.ndarray | None = None,
    given_onset: np.ndarray | None = None,
    known: np.ndarray | None = None,
    temperature: float = 0.0,
    strike_threshold: float = 0.5,
    generator: Noise = None,
    beat: int = 4,
    sixteenths: bool = False,
) -> np.ndarray:
    """One voice ``[N, S, P]`` (int8 OFF/HOLD/ONSET) from its frame and onset
    probabilities (``[N, S, P]``); ``beat``: steps per beat (for ``drawn_beat_moves`` and
    ``offbeat_repeats``). ``sixteenths``: the pass of
    `VoiceDecoding.sixteenth_temperature` (hidden steps off the grid draw whether the
    voice holds or moves; with ``temperature`` 0 the tests decide as elsewhere).

    Where ``known`` (``[N, S]``) is set, the voice follows the given notes
    (``given_top`` pitch rows, ``given_onset`` flags) instead, so a continuation picks up
    the given line's last note and the rules see the given pitches.
    """
    frame = np.asarray(frame, np.float32)
    onset = np.asarray(onset, np.float32)
    n, s, p = frame.shape
    out = np.zeros((n, s, p), np.int8)
    rows = np.arange(n)
    current = np.full(n, -1, np.int64)
    age = np.zeros(n, np.int64)
    # The voice's last sounding pitch and its step: the rules look through rests.
    last_pitch = np.full(n, -1, np.int64)
    last_step = np.full(n, -1, np.int64)
    rules = VoiceRules(fixed, p) if settings.rules and len(fixed) else None
    follow = known is not None and given_top is not None and given_onset is not None
    if follow:
        known = np.asarray(known, bool)
        given_top = np.asarray(given_top, np.int64)
        given_onset = np.asarray(given_onset, bool)
    sounding_p = np.clip(frame.sum(axis=2), 0.0, 1.0)
    strike_score = onset * frame  # "a note of this pitch starts here"
    drawn_moves = temperature > 0 and settings.drawn_beat_moves
    drawn_sixteenths = temperature > 0 and sixteenths
    if temperature > 0:
        # All draws up front from the caller's generator: seeded runs repeat exactly. The
        # fourth row only where it is used, so other readings keep their streams.
        rows_drawn = 4 if drawn_moves or drawn_sixteenths else 3
        if generator is None or isinstance(generator, torch.Generator):
            draws = torch.rand(rows_drawn, n, s, generator=generator).numpy()
        else:
            draws = uniform(n, (rows_drawn, s), generator).permute(1, 0, 2).numpy()

        def sharpen(q: np.ndarray) -> np.ndarray:
            q = np.clip(q, 1e-6, 1 - 1e-6)
            return 1.0 / (1.0 + np.exp(-np.log(q / (1 - q)) / temperature))

        sounds = draws[0] < sharpen(sounding_p)
    else:
        sounds = sounding_p > settings.sounding_threshold
    holds_on = sounding_p > settings.sounding_release  # where a sounding voice carries on
    tops = np.empty((n, s), np.int64)  # the voice's pitch row per step (-1 silent)
    starts = np.empty((n, s), bool)
    no_start = np.zeros(n, bool)
    offgrid = settings.offgrid_strike <= 1.0 and settings.onset_grid > 1
    # A note that started off the grid (a sixteenth) may move on at the next grid step.
    offgrid_note = np.zeros(n, bool)
    if offgrid:
        # Rules and the repeat penalty only lower scores: where no pitch passes the bar
        # here, no voice can move off the grid, and the step costs nothing.
        sure_somewhere = strike_score.max(axis=2) > settings.offgrid_strike
    # Steps where every row follows given notes leave nothing to choose: the bars a later
    # window shares with the one before, a continuation's opening (about a third of the
    # steps of an 8-bar request). The draws were all taken up front, so skipping keeps them.
    settled = known.all(axis=0) if follow else np.zeros(s, bool)
    # Per row and step, the next step after it that follows a given note (-1: none).
    next_given = np.full((n, s), -1, np.int64)
    if follow and rules is not None and known.any():
        upcoming = np.full(n, -1, np.int64)
        for step in range(s - 1, -1, -1):
            next_given[:, step] = upcoming
            upcoming = np.where(known[:, step], step, upcoming)
    for step in range(s):
        previous = current
        on_grid = step % settings.onset_grid == 0
        if follow:  # where the voice follows given notes, a note starts at their onsets
            given_start = given_onset[:, step] | (given_top[:, step] != previous)
            given_start &= given_top[:, step] >= 0
        if settled[step]:
            start, current = given_start, given_top[:, step].copy()
        else:
            on = sounds[:, step] | ((current >= 0) & holds_on[:, step])
            # A row may start a note when it sounds and is silent so far, or (on the grid)
            # has held its note long enough. Where none may (off the grid, every sounding
            # voice held: about half the steps), the choice below would be discarded.
            start = no_start
            if on_grid:
                may_move = (age >= settings.shortest_note) | offgrid_note
                may_start = on & ((current < 0) | may_move)
            elif drawn_sixteenths:
                may_start = on
            elif offgrid:
                may_start = on & ((current < 0) | sure_somewhere[:, step])
            else:
                may_start = on & (current < 0)
            if may_start.any():
                held_row = np.maximum(current, 0)
                held = frame[rows, step, held_row]
                score = strike_score[:, step].copy()
                # Between its eighths a voice holds or moves on: a strike of the held
                # pitch is drawn apart from the choice of a new one (below).
                again = 0.0 if drawn_sixteenths and not on_grid else settings.repeat_penalty
                score[rows, held_row] *= np.where(current >= 0, again, 1.0)
                allowed_frame = frame[:, step]
                # A held note that would lead into the voice's next given note in
                # consecutive fifths or octaves must give way (beat-interleaved passes).
                held_leads_badly = no_start
                if rules is not None:
                    banned = rules.banned(current, step, last_pitch, last_step)
                    ahead = next_given[:, step]
                    if (ahead >= 0).any():
                        leads_to = np.where(ahead >= 0, given_top[rows, np.maximum(ahead, 0)], -1)
                        into = rules.banned_into(ahead, leads_to)
                        banned |= into
                        held_leads_badly = (current >= 0) & into[rows, held_row]
                    score[banned] = 0.0
                    # With every pitch banned (rare: boxed in by both neighbours) the rules
                    # yield.
                    boxed_in = ~(score > 0).any(axis=1)
                    score[boxed_in] = strike_score[boxed_in, step]
                    allowed_frame = np.where(banned & ~boxed_in[:, None], 0.0, allowed_frame)
                barred = banned if rules is not None else None
                if drawn_sixteenths and not on_grid:
                    # Between its eighths a voice moves by step: a passing or neighbour
                    # note, as 16 of 17 of Bach's sixteenths do (models/bach-default.md,
                    # "Sixteenths"). A rule, like ``rules``; the odds stay the network's.
                    far = np.abs(np.arange(p)[None, :] - held_row[:, None]) > SIXTEENTH_STEP
                    far &= (current >= 0)[:, None] & (score * ~far > 0).any(axis=1)[:, None]
                    score[far] = 0.0
                    barred = far if barred is None else barred | far
                if temperature > 0:
                    log_w = np.log(np.maximum(score, 1e-12)) / temperature
                    cdf = np.cumsum(np.exp(log_w - log_w.max(axis=1, keepdims=True)), axis=1)
                    pick = (cdf < draws[2, :, step, None] * cdf[:, -1:]).sum(axis=1)
                    choice = np.minimum(pick, p - 1)
                else:
                    choice = score.argmax(axis=1)
                start = on & (current < 0)
                if on_grid:
                    if drawn_moves and step % beat == 0:
                        strike, faded = hold_strike_or_move(
                            held,
                            onset[:, step],
                            held_row,
                            banned if rules is not None else None,
                            draws[3, :, step],
                            temperature,
                        )
                    else:
                        strike_p = onset[rows, step, held_row] / np.maximum(held, 1e-6)
                        if temperature > 0:
                            strike = draws[1, :, step] < sharpen(strike_p)
                        else:
                            strike = strike_p > strike_threshold
                        faded = held * settings.fade_ratio < allowed_frame.max(axis=1)
                    must_move = strike | faded | held_leads_badly
                    if not settings.offbeat_repeats and step % beat != 0:
                        must_move &= ~((current >= 0) & (choice == held_row))
                    start = on & ((current < 0) | (must_move & may_move))
                elif drawn_sixteenths:
                    strike, moved = hold_or_move_between(
                        held,
                        onset[:, step],
                        strike_score[:, step],
                        held_row,
                        barred,
                        draws[3, :, step],
                        temperature,
                    )
                    if not settings.offbeat_repeats:
                        strike = no_start
                    sounding = current >= 0
                    choice = np.where(strike & sounding, held_row, choice)
                    start = on & (~sounding | strike | moved | held_leads_badly)
                elif offgrid:
                    sure = score[rows, choice] > settings.offgrid_strike
                    if not settings.offbeat_repeats:
                        sure &= ~((current >= 0) & (choice == held_row))
                    start = on & ((current < 0) | sure)
                current = np.where(start, choice, current)
            current = np.where(on, current, -1)
            if follow:
                k = known[:, step]
                start = np.where(k, given_start, start)
                current = np.where(k, given_top[:, step], current)
        age = np.where(start, 0, age) + 1
        if offgrid:
            offgrid_note = np.where(start, not on_grid, offgrid_note)
        tops[:, step] = current
        starts[:, step] = start
        sounding = current >= 0
        last_pitch = np.where(sounding, current, last_pitch)
        last_step = np.where(sounding, step, last_step)
    # A note starts only where the voice sounds, so ONSET overwrites HOLD cells.
    for cells, value in ((tops >= 0, HOLD), (starts, ONSET)):
        row, step = np.nonzero(cells)
        out[row, step, tops[row, step]] = value
    return out
