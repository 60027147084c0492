"""The one generation service: what the CLI and the Generation panel ask the engine for.

No Qt. A `GenerationRequest` says what to make (mode, model, bars, variations, seed,
the given music and which part of it to rewrite) with every sampling option in one
`SamplingOptions`; `run` checks it (`validate`, before any work), then yields
`GenerationResult`s as plain data: a quick one-pass draft of each batch of variations
(when refinement is on and drafts are asked for), then the refined, final music.

Seed rule (the same for every caller): variation ``i`` is made from seed ``seed + i``
alone (its latent and its sampling noise), so variation 3 of seed 7 is variation 1 of
seed 9, whatever the batch size or number of variations.

    CLI / panels --request--> generation.run --> sample (windows, decoding) --> model
                                              \\-> voicing (voice-leading rules)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from studio.core.song import Song

if TYPE_CHECKING:  # torch is imported only when a model is loaded
    from studio.ml.sample import LoadedModel

Mode = Literal["generate", "continue", "harmonize", "infill"]
MODES: tuple[str, ...] = ("generate", "continue", "harmonize", "infill")

# Documented ranges (the CLI shows them in --help; the panel uses them for its spin boxes).
SEED_RANGE = (0, 2**31 - 1)
BARS_RANGE = (1, 512)
VARIATIONS_RANGE = (1, 10_000)
TEMPERATURE_RANGE = (0.0, 5.0)
THRESHOLD_RANGE = (0.0, 1.0)  # exclusive of both ends
MIN_NOTE_STEPS_RANGE = (1, 64)
REFINE_RANGE = (0, 8)
TEMPO_RANGE = (10.0, 400.0)
BATCH = 16  # variations run through the network together (bounds memory)


class GenerationError(ValueError):
    """A request the model cannot serve; one clear sentence, raised before any work."""


class GenerationCancelled(Exception):
    """``cancel()`` answered True between two network passes."""


@dataclass(frozen=True)
class SamplingOptions:
    """Every decoding option, passed as one object."""

    temperature: float = 0.0  # 0: hard threshold; > 0: draw at this temperature
    threshold: float = 0.5  # frame probability a polyphonic cell needs to sound
    min_note_steps: int = 1  # drop notes shorter than this many steps (2 removes 16ths)
    refine_rounds: int = 2  # each voice redrawn given the others, this many times
    strict_voicing: bool = True  # monophonic voices: no parallel 5ths/8ves, no crossing


@dataclass(frozen=True)
class GenerationRequest:
    mode: Mode
    model: str = "default"  # "default" = the bundled model, else a checkpoint or run folder
    bars: int = 4  # generate / continue: new bars to write
    variations: int = 1
    seed: int = 0  # variation i is made from seed + i (see the module docstring)
    sampling: SamplingOptions = field(default_factory=SamplingOptions)
    song: Song | None = None  # the given music (continue / harmonize / infill)
    melody_track: int | None = None  # harmonize: track of `song` holding the melody
    region: tuple[int, int] | None = None  # infill: [start, end) ticks of `song` to rewrite
    tracks: tuple[int, ...] | None = None  # continue: tracks given; infill: tracks rewritten
    tempo: float | None = None  # None: the song's tempo, else the model's
    key: str | None = None  # reserved for engine v2 (refused while unsupported)
    time_signature: tuple[int, int] | None = None  # reserved for engine v2 (same)
    title: str | None = None  # None: a title that says what was made


@dataclass(frozen=True)
class GenerationResult:
    """Songs for variations ``first .. first + len(songs) - 1`` of the request.

    ``stage`` is "draft" (one pass, shown while refining) or "refined" (the music to
    keep); ``final`` is True on the last result ``run`` yields.
    """

    stage: Literal["draft", "refined"]
    final: bool
    songs: tuple[Song, ...]
    seeds: tuple[int, ...]
    first: int = 0


Progress = Callable[[float, str], None]
Cancel = Callable[[], bool]


def load_model(source: str | Path = "default") -> LoadedModel:
    """The model at ``source`` (cached per path); `GenerationError` for a bad file."""
    raise NotImplementedError


def validate(request: GenerationRequest, model: LoadedModel) -> None:
    """Raise `GenerationError` when ``model`` cannot serve ``request``."""
    raise NotImplementedError


def run(
    request: GenerationRequest,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
    model: LoadedModel | None = None,
    drafts: bool = True,
) -> Iterator[GenerationResult]:
    """Carry out ``request``: drafts (when refining and ``drafts``), then refined results,
    in batches of at most `BATCH` variations."""
    raise NotImplementedError


def interpolate(
    request: GenerationRequest,
    seed_b: int,
    steps: int,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
    model: LoadedModel | None = None,
) -> GenerationResult:
    """``steps`` songs morphing from ``request.seed``'s music to ``seed_b``'s (mode
    "generate"; the ends are exactly variation 0 of each seed)."""
    raise NotImplementedError
