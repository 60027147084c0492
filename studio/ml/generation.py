"""The one generation service: what the CLI and the Generation panel ask the engine for.

No Qt. A `GenerationRequest` says what to make (mode, model, bars, variations, seed,
the given music and which part of it to rewrite) with every sampling option in one
`SamplingOptions`; `run` checks it (`validate`, before any work), then yields
`GenerationResult`s as plain data: a quick one-pass draft of each batch of variations
(when refinement is on and drafts are asked for), then the refined, final music.

Seed rule (the same for every caller): variation ``i`` (from 0) is made from seed
``seed + i`` alone (its latent and its sampling noise), so the third variation of seed 7
is the first of seed 9, whatever the batch size or number of variations.

    CLI / panels --request--> generation.run --> sample (windows, decoding) --> model
                                              \\-> voicing (voice-leading rules)
"""

from __future__ import annotations

import math
import os
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from studio.core.song import Song
from studio.ml.metrics import SATB_RANGES

if TYPE_CHECKING:  # torch loads with the first model, so the CLI's --help stays quick
    from studio.core.keys import Key
    from studio.ml.sample import LoadedModel, PassCallback
    from studio.ml.voicing import VoiceDecoding

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
# The reading a student of its teacher's refined music (`TrainConfig.distill_refined`) names
# in its file: one pass gives the teacher's pitches and key, but its rhythm is a hedge there
# (every beat struck, few eighths); one round, each voice read once against the others,
# settles it (models/bach-default.md, *Refined distillation*).
STUDENT_REFINE_ROUNDS = 1
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
    # Each voice redrawn given the others, this many times; None: the model's own reading
    # (named in its file, else 2 rounds: `sample.own_voicing`).
    refine_rounds: int | None = None
    # Then each voice redrawn in two halves of alternate beats, this many times (see
    # `VoiceDecoding.beat_rounds`); None: the model's own reading.
    beat_rounds: int | None = None
    # The model's sixteenths pass, where its file names one (`VoiceDecoding.
    # sixteenth_temperature`: voices move between their eighths); False: none.
    sixteenths: bool = True
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
    # "G minor", "C", "F# major", "Bb minor" (studio.core.keys.parse_key); None: any key.
    # generate only: continue/harmonize/infill keep the given music's key.
    key: str | None = None
    # generate: the metre to write in (None: the song's, else the model's); the other
    # modes follow the song's time signature.
    time_signature: tuple[int, int] | None = None
    # Bars between phrase ends (cadences) for a phrase-conditioned model: 0 no plan (the
    # network phrases on its own); None the default (`cadence_every`).
    cadence_every: int | None = None
    title: str | None = None  # None: a title that says what was made


@dataclass(frozen=True)
class GenerationResult:
    """Songs for variations ``first .. first + len(songs) - 1`` of the request.

    ``stage`` is "draft" (one pass, shown while refining) or "refined" (the music to
    keep); ``final`` is True on the last result ``run`` yields. ``melody_voice``
    (harmonize): the track of each song that holds the given melody, note for note.
    """

    stage: Literal["draft", "refined"]
    final: bool
    songs: tuple[Song, ...]
    seeds: tuple[int, ...]
    first: int = 0
    melody_voice: int | None = None
    # Sentences the user should read about how the music was made (e.g. a key reached by
    # post-processing, a metre the model never trained on).
    notes: tuple[str, ...] = ()


Progress = Callable[[float, str], None]
Cancel = Callable[[], bool]

INTERPOLATION_STEPS_RANGE = (2, 64)
CADENCE_EVERY_RANGE = (0, 16)  # bars between phrase ends; 0: the network phrases on its own
SATB_NAMES = ("soprano", "alto", "tenor", "bass")
# Bytes per roll cell of a variation held while it is made (rolls, masks, decoded copies,
# the finished notes) and per cell of a window in the network (every layer's float32
# activations). Measured on the bundled model (peak RSS of 32 variations x 4 and x 64 bars:
# about 5 and 145 bytes), with a margin of 2-3x.
BYTES_PER_CELL = 16
BYTES_PER_WINDOW_CELL = 300
MEMORY_SHARE = 0.5  # of the free memory one job may plan to use

_models: dict[tuple[str, int, int, str], LoadedModel] = {}
_models_lock = threading.Lock()
_voice_ranges: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # per generator


# ------------------------------------------------------------------------------ models
def load_model(source: str | Path = "default") -> LoadedModel:
    """The model at ``source`` (a checkpoint, a run folder or ``default``), loaded once
    per file and version. A file that is not a usable model raises `CheckpointError`
    (`studio.ml.errors`) with one sentence that names it."""
    from studio.ml import checkpoint, sample

    path = Path(checkpoint.resolve_model(source))
    stat = path.stat()
    # A file changed on disk, or code expecting another architecture, loads (and checks) anew.
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size, checkpoint.ARCH_VERSION)
    with _models_lock:
        model = _models.get(key)
        if model is None:
            model = sample.load_generator(path)
            _models[key] = model
        return model


# ------------------------------------------------------------------------------ checks
def _in_range(
    name: str, value: float, bounds: tuple[float, float], exclusive: bool = False
) -> None:
    lo, hi = bounds
    ok = math.isfinite(value) and (lo < value < hi if exclusive else lo <= value <= hi)
    if not ok:
        sign = "strictly between" if exclusive else "between"
        raise GenerationError(f"{name} must be {sign} {lo:g} and {hi:g}, got {value:g}")


def check_sampling(options: SamplingOptions) -> None:
    _in_range("temperature", options.temperature, TEMPERATURE_RANGE)
    _in_range("threshold", options.threshold, THRESHOLD_RANGE, exclusive=True)
    _in_range("min_note_steps", options.min_note_steps, MIN_NOTE_STEPS_RANGE)
    for name in ("refine_rounds", "beat_rounds"):
        value = getattr(options, name)
        if value is not None:
            _in_range(name, value, REFINE_RANGE)


def reading(options: SamplingOptions, model: LoadedModel) -> VoiceDecoding:
    """How ``model`` reads voices for a request with ``options``."""
    own = replace(model.voicing, rules=options.strict_voicing)
    if not options.sixteenths:
        own = replace(own, sixteenth_temperature=None)
    if options.refine_rounds == 0 and options.beat_rounds is None:
        return own.one_pass  # one pass asked for: no refinement of any kind
    if options.refine_rounds is not None:
        own = replace(own, refine_rounds=options.refine_rounds)
    if options.beat_rounds is not None:
        own = replace(own, beat_rounds=options.beat_rounds)
    return own


def plural(n: int, word: str, words: str | None = None) -> str:
    """``1 track``, ``2 tracks``."""
    return f"{n} {word if n == 1 else (words or word + 's')}"


def _track_label(song: Song, k: int) -> str:
    name = song.tracks[k].name.strip()
    return f"track {k} ({name})" if name else f"track {k}"


def _check_track(song: Song, k: int, what: str) -> None:
    if not 0 <= k < len(song.tracks):
        raise GenerationError(
            f"{what} {k} does not exist: the song has {plural(len(song.tracks), 'track')}"
            f" (0..{len(song.tracks) - 1})"
        )


def melody_of(request: GenerationRequest) -> int:
    """The harmonize request's melody track: the one named, else the first with notes."""
    song = request.song
    assert song is not None
    if request.melody_track is not None:
        return request.melody_track
    for k, track in enumerate(song.tracks):
        if len(track.notes):
            return k
    raise GenerationError("nothing to harmonize: the song has no notes")


def continued_tracks(request: GenerationRequest, model: LoadedModel) -> list[int]:
    song = request.song
    assert song is not None
    if request.tracks is not None:
        return list(request.tracks)
    return list(range(min(len(song.tracks), model.config.n_tracks)))


def infilled_tracks(request: GenerationRequest, model: LoadedModel) -> list[int]:
    song = request.song
    assert song is not None
    if request.tracks is not None:
        return list(request.tracks)
    return list(range(min(len(song.tracks), model.config.n_tracks)))


def request_metre(request: GenerationRequest, model: LoadedModel) -> tuple[int, int]:
    """The metre the request writes in: generate's ``time_signature``, else the song's
    (where the music is written), else the model's own."""
    from studio.ml.sample import song_metre

    song = request.song
    if request.mode == "generate" and request.time_signature is not None:
        return tuple(request.time_signature)  # type: ignore[return-value]
    if song is None:
        return tuple(model.time_signature)  # type: ignore[return-value]
    if request.mode == "infill" and request.region is not None:
        return song_metre(song, request.region[0])
    return song_metre(song)


def request_key(request: GenerationRequest) -> Key | None:
    """The parsed key of a request (`GenerationError` with the accepted forms)."""
    from studio.core.keys import KeyNameError, parse_key

    if request.key is None:
        return None
    try:
        return parse_key(request.key)
    except KeyNameError as exc:
        raise GenerationError(str(exc)) from None


def given_key(request: GenerationRequest) -> Key | None:
    """The estimated key of the given music (continue / harmonize / infill)."""
    from studio.ml.keying import song_key

    if request.mode == "generate" or request.song is None:
        return None
    return song_key(request.song)


def request_notes(request: GenerationRequest, model: LoadedModel) -> list[str]:
    """What the user should know before the music is made (metre outside training)."""
    from studio.ml.metre import known_metres_note

    note = known_metres_note(request_metre(request, model), model.trained_metres)
    return [note] if note else []


def _song_steps(song: Song, model: LoadedModel) -> int:
    return max(1, math.ceil(song.end_tick * model.config.steps_per_beat / song.ticks_per_beat))


def output_steps(request: GenerationRequest, model: LoadedModel) -> int:
    """Steps of music each variation is made of (before padding to whole windows)."""
    cfg = model.config
    song = request.song
    bar = model.bar_steps(request_metre(request, model))
    if request.mode == "generate" or song is None:
        return request.bars * bar
    steps = _song_steps(song, model)
    if request.mode == "continue":
        steps = -(-steps // bar) * bar + request.bars * bar
    if request.mode == "infill" and request.region is not None:
        end = math.ceil(request.region[1] * cfg.steps_per_beat / song.ticks_per_beat)
        steps = max(steps, end)
    return steps


def estimate_memory(request: GenerationRequest, model: LoadedModel, batch: int) -> int:
    """Bytes a batch of ``batch`` variations of ``request`` needs at its peak (estimate)."""
    from studio.ml import sample

    cfg = model.config
    bar = model.bar_steps(request_metre(request, model))
    steps = sample.padded_steps(output_steps(request, model), cfg.n_steps, bar)
    song_cells = cfg.n_tracks * steps * cfg.n_pitches
    window_cells = cfg.n_tracks * cfg.n_steps * cfg.n_pitches
    return batch * (song_cells * BYTES_PER_CELL + window_cells * BYTES_PER_WINDOW_CELL)


def available_memory() -> int | None:
    """Bytes of memory free for a new job (None where the platform does not say)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:  # macOS and other Unixes: half the physical memory, as a cautious guess
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2
    except (AttributeError, ValueError, OSError):
        return None


def batch_size(request: GenerationRequest, model: LoadedModel) -> int:
    """Variations per batch: `BATCH`, fewer when a batch would not fit in memory."""
    wanted = min(BATCH, request.variations)
    free = available_memory()
    if free is None:
        return wanted
    budget = free * MEMORY_SHARE
    per_variation = estimate_memory(request, model, 1)
    if per_variation > budget:
        raise GenerationError(
            f"this job needs about {per_variation / 2**30:.1f} GB per variation and "
            f"{free / 2**30:.1f} GB is free: ask for fewer bars (or a shorter song)"
        )
    return max(1, min(wanted, int(budget // per_variation)))


def cadence_every(request: GenerationRequest) -> int | None:
    """Bars between phrase ends the network is told (None: the model's default plan).
    Harmonize and regenerate are phrased by the music they are given, so they get no
    plan unless one is asked for; new music and continuations get the default."""
    if request.cadence_every is not None:
        return request.cadence_every
    return None if request.mode in ("generate", "continue") else 0


def validate(request: GenerationRequest, model: LoadedModel) -> None:
    """Raise `GenerationError` (one sentence) when ``model`` cannot serve ``request``."""
    r = request
    if r.mode not in MODES:
        raise GenerationError(f"unknown mode {r.mode!r} (one of {', '.join(MODES)})")
    wanted = request_key(r)
    if r.time_signature is not None:
        from studio.ml.metre import MetreError, check_metre, metre_name

        try:
            check_metre(*r.time_signature)
        except (MetreError, TypeError, ValueError) as exc:
            raise GenerationError(str(exc)) from None
        if r.mode != "generate" and r.song is not None:
            own = request_metre(r, model)
            if tuple(r.time_signature) != own:
                raise GenerationError(
                    f"{r.mode} follows the song's time signature ({metre_name(own)}); "
                    f"a time signature can be chosen only when generating from scratch"
                )
    if wanted is not None and r.mode != "generate" and r.song is not None and r.song.note_count:
        found = given_key(r)
        if found is not None and found != wanted:
            raise GenerationError(
                f"{r.mode} keeps the given music's key ({found.name}); a key can be chosen "
                "only when generating from scratch"
            )
    if r.cadence_every is not None:
        _in_range("cadence_every", r.cadence_every, CADENCE_EVERY_RANGE)
        if not model.phrase_conditioned:
            raise GenerationError(
                "this model was trained without phrase ends, so it cannot place cadences; "
                "a model trained with --phrase-conditioning can"
            )
    _in_range("variations", r.variations, VARIATIONS_RANGE)
    _in_range("seed", r.seed, SEED_RANGE)
    if r.mode in ("generate", "continue"):
        _in_range("bars", r.bars, BARS_RANGE)
    check_sampling(r.sampling)
    if r.tempo is not None:
        _in_range("tempo", r.tempo, TEMPO_RANGE)
    cfg = model.config
    song = r.song
    if r.mode != "generate":
        if song is None:
            raise GenerationError(f"{r.mode} needs a song to work on")
        if not song.note_count:
            raise GenerationError(f"nothing to {r.mode}: the song has no notes")
    if r.mode == "harmonize":
        assert song is not None
        melody = melody_of(r)
        _check_track(song, melody, "melody track")
        if not len(song.tracks[melody].notes):
            raise GenerationError(f"the melody, {_track_label(song, melody)}, has no notes")
        if cfg.n_tracks < 2:
            raise GenerationError("this model writes one track: it cannot harmonize")
    if r.mode == "continue":
        assert song is not None
        tracks = continued_tracks(r, model)
        for k in tracks:
            _check_track(song, k, "track")
        if len(set(tracks)) > cfg.n_tracks:
            raise GenerationError(
                f"{plural(len(set(tracks)), 'track')} given, but the model has only "
                f"{plural(cfg.n_tracks, 'track')}"
            )
        if not any(len(song.tracks[k].notes) for k in tracks):
            raise GenerationError("nothing to continue: the given tracks have no notes")
    if r.mode == "infill":
        assert song is not None
        if r.region is None:
            raise GenerationError("infill needs a region (start and end tick) to rewrite")
        start, end = r.region
        last = song.end_tick
        if not 0 <= start < end:
            raise GenerationError(f"the region {start}..{end} is empty or negative")
        if start >= last:
            raise GenerationError(
                f"the region starts at tick {start}, after the song's end (tick {last})"
            )
        tracks = infilled_tracks(r, model)
        if not tracks:
            raise GenerationError("choose at least one track to rewrite")
        usable = min(len(song.tracks), cfg.n_tracks)
        for k in tracks:
            _check_track(song, k, "track")
            if k >= usable:
                names = ", ".join(t["name"] for t in model.templates)
                raise GenerationError(
                    f"{_track_label(song, k)} cannot be rewritten: the model writes only "
                    f"{plural(cfg.n_tracks, 'track')} ({names}), matched to the song's first "
                    f"{plural(usable, 'track')}"
                )
    from studio.ml.metre import MetreError

    try:
        bar = model.bar_steps(request_metre(r, model))
    except MetreError as exc:
        raise GenerationError(str(exc)) from None
    steps = output_steps(r, model)
    limit = BARS_RANGE[1] * bar
    if steps > limit:
        bars = math.ceil(steps / bar)
        raise GenerationError(
            f"the music to make is {bars} bars long; the limit is {BARS_RANGE[1]} bars: "
            "work on a shorter part of the song"
        )
    batch_size(r, model)  # refuses a job that cannot fit in memory


# ------------------------------------------------------------------------------ voices
def voice_ranges(model: LoadedModel) -> list[tuple[float, float]]:
    """The usual pitch range of each model track: the choir's ranges for S, A, T, B;
    else measured on the model's own music (a few seeded variations, cached)."""
    from studio.ml import sample
    from studio.ml.voicing import VoiceDecoding

    names = [t["name"].strip().lower() for t in model.templates]
    if all(name in SATB_NAMES for name in names):
        return [tuple(map(float, SATB_RANGES[SATB_NAMES.index(n)])) for n in names]
    cached = _voice_ranges.get(model.generator)
    if cached is None:
        songs = sample.generate(
            model, bars=model.bars, variations=4, seed=0, voicing=VoiceDecoding(refine_rounds=0)
        )
        cached = []
        n = len(names)
        span = model.config.n_pitches / max(n, 1)
        for k in range(n):
            pitches = np.concatenate([s.tracks[k].notes.pitch for s in songs]).astype(float)
            if len(pitches):
                lo, hi = np.percentile(pitches, [10, 90])
                cached.append((float(lo), float(hi)))
            else:  # silent in the sample: assume tracks are listed top to bottom
                top = model.lowest_pitch + model.config.n_pitches - k * span
                cached.append((top - span, top))
        _voice_ranges[model.generator] = cached
    return list(cached)


def melody_voice(model: LoadedModel, song: Song, track: int) -> int:
    """The model track whose range fits the melody best: most notes inside the range,
    then the nearest range centre (a bass line goes to the bass, a tune to the top)."""
    pitches = song.tracks[track].notes.pitch.astype(float)
    centre = float(np.median(pitches))

    def fit(k_range: tuple[int, tuple[float, float]]) -> tuple[float, float]:
        _, (lo, hi) = k_range
        inside = float(((pitches >= lo) & (pitches <= hi)).mean())
        return (-inside, abs(centre - (lo + hi) / 2))

    return min(enumerate(voice_ranges(model)), key=fit)[0]


def _distinct_names(song: Song, model: LoadedModel, kept: int) -> Song:
    """The kept melody keeps its name unless another voice has it; then it takes its
    voice's name, so every track of the result is told apart."""
    others = {t.name.strip().lower() for k, t in enumerate(song.tracks) if k != kept}
    name = song.tracks[kept].name.strip()
    if not name or name.lower() in others:
        song.tracks[kept].name = model.templates[kept]["name"]
    return song


# ------------------------------------------------------------------------------ running
@dataclass
class _Meter:
    """Turns pass counts of the stages into one fraction for ``progress``."""

    progress: Progress | None
    cancel: Cancel | None
    weights: list[float]
    stage: int = 0
    label: str = ""

    def check(self) -> None:
        if self.cancel is not None and self.cancel():
            raise GenerationCancelled("generation cancelled")

    def on_pass(self, done: int, total: int) -> None:
        self.check()
        if self.progress is not None:
            before = sum(self.weights[: self.stage])
            fraction = (before + self.weights[self.stage] * done / max(total, 1)) / sum(
                self.weights
            )
            self.progress(min(fraction, 1.0), self.label)

    def next_stage(self) -> None:
        self.stage += 1


def _songs(
    request: GenerationRequest,
    model: LoadedModel,
    seeds: Sequence[int],
    voicing: VoiceDecoding,
    on_pass: PassCallback,
    notes: list[str] | None = None,
    fit_key: bool = True,
) -> list[Song]:
    """One batch of variations (one per seed); ``notes`` collects what the user should
    read about how they were made (the key post-processing). ``fit_key`` False: the
    candidates `studio.ml.keying` draws (no key post-processing of their own)."""
    from studio.ml import sample

    r, o = request, request.sampling
    wanted = request_key(r)
    if r.mode == "generate" and wanted is not None and fit_key:
        from studio.ml.keying import keyed_variations

        # A model without key input: post-processing alone (see studio.ml.keying). A
        # key-conditioned one is told the key, and a candidate that still comes out in
        # another key is redrawn: the result's note says how many were.
        conditioned = model.key_conditioned
        plain = r if conditioned else replace(r, key=None)
        draft = voicing.one_pass

        def draw(cands: list[int], decoding: VoiceDecoding) -> list[Song]:
            return _songs(plain, model, cands, decoding, on_pass, fit_key=False)

        fit = keyed_variations(
            lambda cands: draw(cands, voicing),
            list(seeds),
            wanted,
            _key_ranges(model),
            # A one-pass draft is tonally vague (refinement settles the key), so only the
            # mode screen of a keyless model uses it; a told network is mostly right at once.
            screen=(
                (lambda cands: draw(cands, draft))
                if voicing.passes_per_voice and not conditioned
                else None
            ),
            exact=conditioned,
        )
        if notes is not None:
            notes.append(fit.message)
        return fit.songs
    if wanted is None and r.mode != "generate" and model.key_conditioned:
        wanted = given_key(r)  # the given music's key, told to the network
    common = {
        "temperature": o.temperature,
        "threshold": o.threshold,
        "min_note_steps": o.min_note_steps,
        "seeds": seeds,
        "voicing": voicing,
        "on_pass": on_pass,
        "key": wanted.index if wanted is not None else None,
        "cadence_every": cadence_every(r),
    }
    song = r.song
    if r.mode == "generate":
        tempo = r.tempo if r.tempo is not None else (song.initial_bpm if song else None)
        metre = request_metre(r, model)
        songs = sample.generate(model, bars=r.bars, tempo=tempo, time_signature=metre, **common)
    elif r.mode == "harmonize":
        assert song is not None
        melody = melody_of(r)
        voice = melody_voice(model, song, melody)
        songs = sample.harmonize(model, song, keep_tracks={melody: voice}, **common)
        songs = [_distinct_names(s, model, voice) for s in songs]
    elif r.mode == "continue":
        assert song is not None
        songs = sample.continue_(
            model, song, bars=r.bars, tracks=continued_tracks(r, model), **common
        )
    else:
        assert song is not None and r.region is not None
        start, end = r.region
        songs = sample.infill(model, song, start, end, tracks=infilled_tracks(r, model), **common)
    if r.mode == "generate" and wanted is None and fit_key:
        songs = _in_any_key(model, songs, seeds, notes)
    if r.mode != "generate" and r.tempo is not None:
        from studio.core.song import TempoChange

        for s in songs:
            s.tempos = [TempoChange(0, float(r.tempo))]
    if r.title:
        for k, s in enumerate(songs):
            s.title = r.title if len(seeds) == 1 else f"{r.title} ({seeds[k]})"
    return songs


def _in_any_key(
    model: LoadedModel, songs: list[Song], seeds: Sequence[int], notes: list[str] | None
) -> list[Song]:
    """Music asked for in no key, moved to keys drawn from the model's training music
    (`studio.ml.keying.any_key_variations`); as written for files without their keys."""
    from studio.ml.keying import any_key_variations, key_prior

    prior = key_prior(model.meta)
    if prior is None:
        return songs
    fit = any_key_variations(songs, seeds, prior, _key_ranges(model))
    if notes is not None:
        notes.append(fit.message)
    return fit.songs


def _key_ranges(model: LoadedModel) -> list[tuple[float, float]]:
    """Where a transposed voice may go: its usual range and a whole tone either side."""
    return [(lo - 2, hi + 2) for lo, hi in voice_ranges(model)]


def run(
    request: GenerationRequest,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
    model: LoadedModel | None = None,
    drafts: bool = True,
) -> Iterator[GenerationResult]:
    """Carry out ``request``: per batch of at most `BATCH` variations, a one-pass draft
    (when refining and ``drafts``) then the refined result.

    The model is loaded and the request validated *now* (`GenerationError`, before any
    work); the music is made as the returned iterator is consumed. ``cancel()`` is asked
    before every network pass (`GenerationCancelled`); ``progress(fraction, text)``
    follows the passes.
    """
    model = model if model is not None else load_model(request.model)
    validate(request, model)
    return _run(request, model, progress, cancel, drafts, batch_size(request, model))


def _run(
    request: GenerationRequest,
    model: LoadedModel,
    progress: Progress | None,
    cancel: Cancel | None,
    drafts: bool,
    batch: int,
) -> Iterator[GenerationResult]:
    from studio.ml import compute

    o = request.sampling
    refined = reading(o, model)
    draft = refined.one_pass
    sixteenths = refined.sixteenth_temperature is not None
    with_draft = drafts and (refined.passes_per_voice > 0 or sixteenths)
    seeds = [request.seed + k for k in range(request.variations)]
    melody = None
    if request.mode == "harmonize" and request.song is not None:
        melody = melody_voice(model, request.song, melody_of(request))
    batches = [seeds[k : k + batch] for k in range(0, len(seeds), batch)]
    refine_weight = 1.0 + refined.passes_per_voice * model.config.n_tracks + sixteenths
    weights: list[float] = []
    for _ in batches:
        weights += [1.0, refine_weight] if with_draft else [refine_weight]
    meter = _Meter(progress, cancel, weights)
    notes_before = request_notes(request, model)
    n = len(seeds)
    for b, chunk in enumerate(batches):
        first = b * batch
        span = f"{first + 1}" if len(chunk) == 1 else f"{first + 1}-{first + len(chunk)}"
        what = f"variation {span} of {n}" if n > 1 else "the music"
        stages: list[tuple[Literal["draft", "refined"], VoiceDecoding]] = []
        if with_draft:
            stages.append(("draft", draft))
        stages.append(("refined", refined))
        for stage, voicing in stages:
            meter.label = f"{'Drafting' if stage == 'draft' else 'Writing'} {what}"
            meter.check()
            batch_notes: list[str] = []
            with compute.generation_priority():  # a training run of this app waits
                songs = _songs(request, model, chunk, voicing, meter.on_pass, batch_notes)
            meter.next_stage()
            last = stage == "refined" and b == len(batches) - 1
            if last and progress is not None:
                progress(1.0, "Done")
            notes = (*notes_before, *batch_notes)
            yield GenerationResult(stage, last, tuple(songs), tuple(chunk), first, melody, notes)


def interpolate(
    request: GenerationRequest,
    seed_b: int,
    steps: int,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
    model: LoadedModel | None = None,
) -> GenerationResult:
    """``steps`` songs morphing from ``request.seed``'s music to ``seed_b``'s (a
    "generate" request; at temperature 0 the ends are variation 0 of each seed)."""
    from studio.ml import sample

    model = model if model is not None else load_model(request.model)
    if request.mode != "generate":
        raise GenerationError("only music generated from scratch can be interpolated")
    validate(replace(request, variations=steps), model)
    if request.key is not None:  # the steps must stay one latent path, not picked candidates
        raise GenerationError("a key cannot be chosen for an interpolation")
    _in_range("seed", seed_b, SEED_RANGE)
    _in_range("interpolation steps", steps, INTERPOLATION_STEPS_RANGE)
    o = request.sampling
    voicing = reading(o, model)
    meter = _Meter(progress, cancel, [1.0], label=f"Interpolating {request.seed} → {seed_b}")
    meter.check()
    song = request.song
    tempo = request.tempo if request.tempo is not None else (song.initial_bpm if song else None)
    from studio.ml import compute

    with compute.generation_priority():  # a training run of this app waits
        songs = sample.interpolate(
            model,
            request.seed,
            seed_b,
            steps=steps,
            bars=request.bars,
            temperature=o.temperature,
            threshold=o.threshold,
            tempo=tempo,
            min_note_steps=o.min_note_steps,
            voicing=voicing,
            on_pass=meter.on_pass,
            time_signature=request_metre(request, model),
        )
    notes = list(request_notes(request, model))
    songs = _interpolation_in_any_key(model, songs, (request.seed, seed_b), notes)
    if progress is not None:
        progress(1.0, "Done")
    return GenerationResult("refined", True, tuple(songs), (), 0, None, tuple(notes))


def _interpolation_in_any_key(
    model: LoadedModel, songs: list[Song], seeds: tuple[int, int], notes: list[str]
) -> list[Song]:
    """The steps of an interpolation moved as its two ends are when made as variations
    (`_in_any_key`): each step by the shift of the nearer end, so the morph starts and
    ends on the two variations as the composer heard them."""
    from studio.ml.keying import key_prior, prior_shift, transpose_song

    prior = key_prior(model.meta)
    if prior is None or not songs:
        return songs
    ends = []
    for song, seed in ((songs[0], seeds[0]), (songs[-1], seeds[1])):
        moved = prior_shift(song, prior, seed, _key_ranges(model))
        ends.append((moved[0], moved[2].name) if moved is not None else (0, None))
    half = (len(songs) + 1) // 2
    out = [
        transpose_song(song, ends[k >= half][0]) if ends[k >= half][0] else song
        for k, song in enumerate(songs)
    ]
    named = [f"{name} ({shift:+d})" for shift, name in ends if name is not None]
    if named:
        notes.append(
            "any key: each step moved as the nearer end's variation was, to a key drawn "
            f"from the keys of this model's training music (post-processing): {' / '.join(named)}"
        )
    return out
