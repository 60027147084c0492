"""The Generation panel's jobs: what its worker thread runs. No Qt, no engine logic.

Each job is one call of the generation service (`studio.ml.generation`), the same the
CLI makes, so the panel and `pianola generate` give identical music for identical
requests (tests/test_generation_parity.py). ``progress`` and ``cancel`` are passed
through: the worker turns progress reports into signals, and Cancel sets the flag the
engine checks between two network passes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from studio.ml import generation
from studio.ml.generation import GenerationRequest, GenerationResult

Progress = Callable[[float, str], None]
Cancel = Callable[[], bool]


def load_model_job(source: str) -> Any:
    """The model at ``source`` (the service caches it per path)."""
    return generation.load_model(source)


def generation_job(
    request: GenerationRequest,
    model: Any = None,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> Iterator[GenerationResult]:
    """Yields the draft (when refining), then the refined variations; ends quietly when
    cancelled (a cancel is what the composer asked for, not an error to log)."""
    if model is None:
        model = generation.load_model(request.model)
    try:
        yield from generation.run(request, progress=progress, cancel=cancel, model=model)
    except generation.GenerationCancelled:
        return


def morph_job(
    request: GenerationRequest,
    seed_b: int,
    steps: int,
    model: Any = None,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> Iterator[GenerationResult]:
    """``steps`` songs morphing from ``request.seed``'s music to ``seed_b``'s."""
    if model is None:
        model = generation.load_model(request.model)
    try:
        yield generation.interpolate(
            request, seed_b, steps, progress=progress, cancel=cancel, model=model
        )
    except generation.GenerationCancelled:
        return
