"""Metres on the training grid: bar and beat lengths in steps, and reading "N/D".

A step is ``1 / steps_per_beat`` of a quarter note (the model's ``steps_per_beat`` is
per *quarter*, whatever the metre). The *beat* of a metre is the unit a musician counts:
the denominator's note in simple metres (quarter in 3/4, half in 2/2 and 3/2) and three
of them in compound metres (numerator 6, 9, 12, …: dotted quarter in 6/8, dotted half in
6/4). The generator's coordinate planes put the phase of the bar and of this beat on
every step, so one network can learn (and be asked for) any metre.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

Metre = tuple[int, int]

DEFAULT_METRE: Metre = (4, 4)
ACCEPTED_FORMS = '"4/4", "3/4", "6/8", "2/2", "3/2", "5/4", "12/8" (numerator 1-64 / 1, 2, 4 … 64)'
_METRE_RE = re.compile(r"^\s*(\d{1,2})\s*/\s*(\d{1,2})\s*$")


class MetreError(ValueError):
    """A time signature that cannot be read; the message lists the accepted forms."""


def check_metre(numerator: int, denominator: int) -> Metre:
    """``(numerator, denominator)`` as ints, or `MetreError` (what `TimeSignature` accepts)."""
    num, den = int(numerator), int(denominator)
    if not 1 <= num <= 64 or not 1 <= den <= 64 or den & (den - 1):
        raise MetreError(
            f"{numerator}/{denominator} is not a time signature; use a form like {ACCEPTED_FORMS}"
        )
    return num, den


def parse_metre(text: str | tuple[int, int]) -> Metre:
    """ "6/8" -> (6, 8); a pair is checked as it is."""
    if isinstance(text, tuple):
        return check_metre(*text)
    match = _METRE_RE.match(text or "")
    if not match:
        raise MetreError(
            f"cannot read the time signature {text!r}; use a form like {ACCEPTED_FORMS}"
        )
    return check_metre(int(match.group(1)), int(match.group(2)))


def metre_name(metre: Iterable[int]) -> str:
    num, den = tuple(int(v) for v in metre)
    return f"{num}/{den}"


def is_compound(metre: Metre) -> bool:
    """6/8, 9/8, 12/8, 6/4 …: the beat is three of the denominator's notes."""
    num, _den = metre
    return num > 3 and num % 3 == 0


def bar_steps_exact(metre: Metre, steps_per_beat: int) -> float:
    """Steps in one bar (may be fractional when the grid is too coarse for the metre)."""
    num, den = metre
    return num * steps_per_beat * 4 / den


def beat_steps_exact(metre: Metre, steps_per_beat: int) -> float:
    """Steps in one counted beat (quarter in 3/4, dotted quarter in 6/8, half in 2/2)."""
    unit = steps_per_beat * 4 / metre[1]
    return 3 * unit if is_compound(metre) else unit


def fits_grid(metre: Metre, steps_per_beat: int) -> bool:
    """True when bars and beats of ``metre`` fall on whole steps of the grid."""
    bar = bar_steps_exact(metre, steps_per_beat)
    beat = beat_steps_exact(metre, steps_per_beat)
    return bar == int(bar) and beat == int(beat) and bar >= 1 and beat >= 1


def bar_steps(metre: Metre, steps_per_beat: int) -> int:
    """Whole steps in one bar; `MetreError` when the bar does not fall on the grid."""
    if not fits_grid(metre, steps_per_beat):
        raise MetreError(
            f"time signature {metre_name(metre)} does not fit a grid of {steps_per_beat} "
            "steps per quarter note"
        )
    return int(bar_steps_exact(metre, steps_per_beat))


def beat_steps(metre: Metre, steps_per_beat: int) -> int:
    bar_steps(metre, steps_per_beat)  # the same check
    return int(beat_steps_exact(metre, steps_per_beat))


def default_metre_of(steps_per_bar: int, steps_per_beat: int) -> Metre:
    """The metre a model without metre conditioning assumed: ``steps_per_bar`` quarters /4
    (the bundled model: 16 steps of 4 per quarter = 4/4), as its planes computed it."""
    quarters = steps_per_bar / steps_per_beat
    if quarters == int(quarters):
        return int(quarters), 4
    return round(steps_per_bar * 8 / steps_per_beat), 32


def known_metres_note(asked: Metre, known: Iterable[Iterable[int]]) -> str | None:
    """A sentence when a model is asked for a metre it never trained on, else None."""
    seen = [tuple(int(v) for v in m) for m in known]
    if not seen or tuple(asked) in seen:
        return None
    names = ", ".join(metre_name(m) for m in seen)
    return (
        f"this model was trained on {names} only; it writes {metre_name(asked)} from its "
        "bar and beat position inputs, which it has not learnt for that metre, so expect "
        "weaker bar structure"
    )
