"""What the Generation panel asks the engine for, and where the answer goes in the song.

Runs in a worker thread, so it imports no Qt. A `GenerationRequest` is a snapshot of
the panel (mode, bars, variations, temperature, seed, target tracks, tempo) plus a copy
of the song and the editing context (playhead, loop, selection range). `run_request`
calls the engine and returns one `Result` per variation: the whole generated song (to
audition or open as a new song) and the new material as `Part`s placed in the open
song's ticks, each with the song track it would replace — which is all the panel needs
to insert new tracks or replace a range as a single undo step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from studio.core.song import Notes, Song

NEW = "new"
CONTINUE = "continue"
HARMONIZE = "harmonize"
REGENERATE = "regenerate"
MODES = (NEW, CONTINUE, HARMONIZE, REGENERATE)


class GenerationRequestError(ValueError):
    """The request cannot be carried out (nothing selected, empty song, ...)."""


@dataclass(frozen=True)
class Part:
    """New notes for one track, in the open song's ticks."""

    name: str
    program: int
    is_drum: bool
    colour: str
    notes: Notes
    target: int | None  # song track this part replaces, or None


@dataclass(frozen=True)
class Result:
    song: Song  # the whole generated piece, for audition and "Open in new song"
    parts: tuple[Part, ...]
    start: int  # range of the song the parts cover (ticks of the open song)
    end: int
    caption: str
    seed: int | None = None  # set for "New" results: they can be interpolated


@dataclass(frozen=True)
class GenerationRequest:
    mode: str
    song: Song
    bars: int = 4
    variations: int = 4
    temperature: float = 1.0
    seed: int = 0
    tempo: float = 100.0
    targets: tuple[int, ...] = ()  # song tracks to write (or keep, see below)
    active_track: int = 0
    playhead: int = 0
    loop: tuple[int, int] | None = None
    selection_range: tuple[int, int] | None = None  # [first start, last end) of selection
    refine_rounds: int = 2  # each voice redrawn given the others, this many times
    voice_rules: bool = True  # single-line tracks avoid parallel fifths/octaves, crossings
    extra: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------------------- helpers
def bar_floor(song: Song, tick: int) -> int:
    starts = song.bar_starts(max(tick, 0))
    return starts[-1] if starts else 0


def bar_ceil(song: Song, tick: int) -> int:
    floor = bar_floor(song, tick)
    return floor if floor >= tick else floor + song.ticks_per_bar(floor)


def rescale(notes: Notes, from_tpb: int, to_tpb: int, offset: int = 0) -> Notes:
    """Notes in another resolution, shifted by ``offset`` ticks (of the target)."""
    if not len(notes):
        return Notes()
    if from_tpb == to_tpb:
        start, duration = notes.start, notes.duration
    else:
        factor = to_tpb / from_tpb
        start = np.rint(notes.start * factor).astype(np.int64)
        duration = np.maximum(np.rint(notes.duration * factor).astype(np.int64), 1)
    return Notes(notes.pitch, start + offset, duration, notes.velocity)


def window(notes: Notes, start: int, end: int) -> Notes:
    """Notes that start in [start, end), cut so that they end by ``end``."""
    rows = np.nonzero((notes.start >= start) & (notes.start < end))[0]
    taken = notes.take(rows)
    if not len(taken):
        return Notes()
    ends = np.minimum(taken.start + taken.duration, end)
    return Notes(taken.pitch, taken.start, np.maximum(ends - taken.start, 1), taken.velocity)


def excerpt(song: Song, start: int, end: int, tracks: Sequence[int]) -> Song:
    """The given tracks of [start, end), moved to tick 0 (a primer for the engine)."""
    out = song.copy()
    out.tracks = []
    for k in tracks:
        track = song.tracks[k].copy()
        track.notes = window(track.notes, start, end).shifted(-start)
        out.tracks.append(track)
    return out


def assign_targets(names: Sequence[str], song: Song, candidates: Sequence[int]) -> list[int | None]:
    """For each generated track name, the song track it replaces: same name first,
    then the remaining candidates in order; None when none is left."""
    free = list(candidates)
    out: list[int | None] = [None] * len(names)
    for k, name in enumerate(names):
        for t in free:
            if song.tracks[t].name.strip().lower() == name.strip().lower():
                out[k] = t
                free.remove(t)
                break
    for k in range(len(names)):
        if out[k] is None and free:
            out[k] = free.pop(0)
    return out


def _parts_from(
    generated: Song,
    song: Song,
    lo: int,
    hi: int,
    offset: int,
    candidates: Sequence[int],
    skip: Sequence[int] = (),
) -> tuple[Part, ...]:
    """Parts from ``generated``'s tracks (minus ``skip``): notes starting in [lo, hi) of
    the generated song, rescaled to the song's resolution and moved by ``offset``."""
    kept = [k for k in range(len(generated.tracks)) if k not in skip]
    targets = assign_targets([generated.tracks[k].name for k in kept], song, candidates)
    parts = []
    for k, target in zip(kept, targets, strict=True):
        t = generated.tracks[k]
        notes = rescale(window(t.notes, lo, hi), generated.ticks_per_beat, song.ticks_per_beat)
        parts.append(Part(t.name, t.program, t.is_drum, t.colour, notes.shifted(offset), target))
    return tuple(parts)


# ------------------------------------------------------------------------------- modes
def apply_voicing(model: Any, request: GenerationRequest) -> None:
    """The request's refinement and voice-leading settings, on the model that serves it
    (the panel's worker owns the model and runs one request at a time)."""
    model.voicing = replace(
        model.voicing, refine_rounds=request.refine_rounds, rules=request.voice_rules
    )


def run_request(model: Any, request: GenerationRequest) -> list[Result]:
    """Carry out a request with the engine (in a worker thread)."""
    apply_voicing(model, request)
    if request.mode == NEW:
        return _new(model, request)
    if request.mode == CONTINUE:
        return _continue(model, request)
    if request.mode == HARMONIZE:
        return _harmonize(model, request)
    if request.mode == REGENERATE:
        return _regenerate(model, request)
    raise GenerationRequestError(f"unknown mode {request.mode!r}")


def _new(model: Any, r: GenerationRequest) -> list[Result]:
    song = r.song
    offset = bar_floor(song, r.playhead)
    # One seed per variation (seed, seed+1, ...): any two can then be interpolated.
    seeds = [r.seed + k for k in range(r.variations)]
    songs = generate_with_seeds(model, r.bars, seeds, r.temperature, r.tempo)
    return [
        _new_result(generated, r, offset, f"Seed {seed}", seed)
        for generated, seed in zip(songs, seeds, strict=True)
    ]


def generate_with_seeds(
    model: Any, bars: int, seeds: Sequence[int], temperature: float, tempo: float
) -> list[Song]:
    """Variations whose latents are those of ``interpolate(seed_a, seed_b)``'s ends, made
    in ONE batch (16 separate calls would take several times longer on a CPU)."""
    import torch

    from studio.core.pianoroll import roll_to_song
    from studio.ml import sample

    cfg = model.config
    length = bars * cfg.steps_per_bar
    shape = (len(seeds), cfg.n_tracks, length, cfg.n_pitches)
    # The engine's own per-seed latent (what `interpolate` starts and ends on).
    z = torch.cat([sample._latents(model, 1, seed) for seed in seeds])
    rolls = sample.run_windows(
        model,
        np.zeros(shape, np.int8),
        np.zeros(shape[:3], bool),
        z,
        temperature,
        0.5,
        int(seeds[0]),
    )
    return [
        roll_to_song(
            roll,
            model.spec,
            480,
            model.track_templates(),
            float(tempo or model.bpm),
            tuple(model.time_signature),
            f"Generated (seed {seed})",
            90,
        )
        for roll, seed in zip(rolls, seeds, strict=True)
    ]


def _new_result(
    generated: Song, r: GenerationRequest, offset: int, caption: str, seed: int | None
) -> Result:
    song = r.song
    parts = _parts_from(generated, song, 0, max(generated.end_tick, 1) + 1, offset, r.targets)
    length = r.bars * song.ticks_per_bar(offset)
    return Result(generated, parts, offset, offset + length, caption, seed)


def interpolation_results(
    model: Any, song: Song, seed_a: int, seed_b: int, steps: int, r: GenerationRequest
) -> list[Result]:
    from studio.ml import sample

    apply_voicing(model, r)
    songs = sample.interpolate(
        model, seed_a, seed_b, steps=steps, bars=r.bars, temperature=r.temperature, tempo=r.tempo
    )
    offset = bar_floor(song, r.playhead)
    return [
        _new_result(s, r, offset, f"{seed_a} → {seed_b}: {k + 1}/{steps}", None)
        for k, s in enumerate(songs)
    ]


def _continue(model: Any, r: GenerationRequest) -> list[Result]:
    from studio.ml import sample

    song = r.song
    targets = list(r.targets) or list(range(len(song.tracks)))
    if not song.note_count or not any(len(song.tracks[t].notes) for t in targets):
        raise GenerationRequestError(
            "Nothing to continue: write or open some music first (or tick tracks with notes)."
        )
    if r.selection_range is not None:
        start, end = bar_floor(song, r.selection_range[0]), bar_ceil(song, r.selection_range[1])
        where = "the selection"
    elif r.loop is not None:
        start, end = bar_floor(song, r.loop[0]), bar_ceil(song, r.loop[1])
        where = "the loop"
    else:
        end = bar_ceil(song, song.end_tick)
        start = bar_floor(song, max(0, end - model.bars * song.ticks_per_bar(0)))
        where = "the last bars"
    primer = excerpt(song, start, end, targets)
    # The engine continues after the primer's last note, rounded up to a whole bar.
    primer_len = bar_ceil(primer, primer.end_tick)
    end = start + primer_len
    songs = sample.continue_(
        model,
        primer,
        bars=r.bars,
        variations=r.variations,
        seed=r.seed,
        temperature=r.temperature,
        tracks=list(range(min(len(primer.tracks), model.config.n_tracks))),
    )
    span = r.bars * song.ticks_per_bar(end)
    results = []
    for k, generated in enumerate(songs):
        parts = _parts_from(generated, song, primer_len, primer_len + span, start, targets)
        results.append(
            Result(generated, parts, end, end + span, f"Continues {where} · {k + 1}", None)
        )
    return results


def _harmonize(model: Any, r: GenerationRequest) -> list[Result]:
    from studio.ml import sample

    song = r.song
    keep = r.active_track
    if not (0 <= keep < len(song.tracks)) or not len(song.tracks[keep].notes):
        raise GenerationRequestError(
            "Nothing to harmonize: select the track that holds the melody (it needs notes)."
        )
    (kept_model_track,) = sample.map_song_tracks(model, song, [keep])
    songs = sample.harmonize(
        model,
        song,
        keep_tracks={keep: kept_model_track},
        variations=r.variations,
        seed=r.seed,
        temperature=r.temperature,
    )
    end = bar_ceil(song, song.end_tick)
    candidates = [t for t in r.targets if t != keep]
    results = []
    for k, generated in enumerate(songs):
        parts = _parts_from(generated, song, 0, end, 0, candidates, skip=[kept_model_track])
        name = song.tracks[keep].name
        results.append(Result(generated, parts, 0, end, f"Around {name} · {k + 1}", None))
    return results


def _regenerate(model: Any, r: GenerationRequest) -> list[Result]:
    from studio.ml import sample

    song = r.song
    if r.loop is not None:
        start, end = r.loop
    elif r.selection_range is not None:
        start, end = r.selection_range
    else:
        raise GenerationRequestError(
            "Nothing to regenerate: set a loop region or select notes to mark the bars."
        )
    usable = min(len(song.tracks), model.config.n_tracks)
    targets = [t for t in (r.targets or range(usable)) if t < usable]
    if not targets:
        raise GenerationRequestError(
            f"Tick the tracks to rewrite (the model writes at most {model.config.n_tracks})."
        )
    songs = sample.infill(
        model,
        song,
        start,
        end,
        tracks=targets,
        variations=r.variations,
        seed=r.seed,
        temperature=r.temperature,
    )
    results = []
    for k, generated in enumerate(songs):
        parts = []
        for index in targets:
            t = generated.tracks[index]
            notes = window(t.notes, start, end)
            parts.append(Part(t.name, t.program, t.is_drum, t.colour, notes, index))
        parts = tuple(parts)
        results.append(Result(generated, parts, start, end, f"Bars rewritten · {k + 1}", None))
    return results
