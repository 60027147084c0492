"""What the Generation panel knows, without Qt: settings, the pending job, the variations.

`GenerationSession` is the panel's model (napari's split: the widgets only show it and
forward clicks). It turns the settings plus a snapshot of the open song's editing
context (`EditingContext`: playhead, loop, selection, active track) into a
`studio.ml.generation.GenerationRequest`, keeps the state of the one job in flight
(load, generate or morph; progress; cancel), places each `GenerationResult` into the
open song's ticks as `Variation`s (draft, then refined), keeps the selection, and says
exactly what "Insert as new tracks" and "Replace selection" will do (`ReplacePlan`:
which generated voice goes into which track, and which become new tracks). The engine
runs in `generation_jobs` (a worker thread); the document applies the plans as one
undo step each.
"""

from __future__ import annotations

import colorsys
import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from studio.core.edits import ReplaceNotesInRange
from studio.core.keys import Key, KeyNameError, estimate_key, parse_key, pitch_class_weights
from studio.core.song import TRACK_PALETTE, Notes, Song, Track
from studio.ml.bundled import DEFAULT_NAME
from studio.ml.generation import (
    BARS_RANGE,
    REFINE_RANGE,
    SEED_RANGE,
    TEMPERATURE_RANGE,
    TEMPO_RANGE,
    GenerationError,
    GenerationRequest,
    GenerationResult,
    SamplingOptions,
)

GENERATE, CONTINUE, HARMONIZE, INFILL = "generate", "continue", "harmonize", "infill"
MODES = (GENERATE, CONTINUE, HARMONIZE, INFILL)
MODE_TEXT = {
    GENERATE: ("New", "Write new music from scratch, starting at the playhead's bar."),
    CONTINUE: (
        "Continue",
        "Carry on from the selected bars, the loop region, or the song's last bars.",
    ),
    HARMONIZE: (
        "Harmonize",
        "Keep the selected track (e.g. your melody) and write the other voices around it.",
    ),
    INFILL: (
        "Regenerate selection",
        "Rewrite the loop region (or the bars of the selected notes) in the ticked tracks; "
        "everything around it stays as it is.",
    ),
}
DEFAULT_MODEL = DEFAULT_NAME  # what --model calls the default bundled model
MAX_RECENT = 8
MAX_VARIATIONS = 16  # one batch of the engine (generation.BATCH): one draft, one refined
DEFAULT_TEMPERATURE = 0.0  # the bundled model's quality is measured decoded by threshold
# None: the model's own reading (named in its file as its model card measured it; 2 rounds
# unless it says otherwise). Stored as -1 under "refine": the old "refine_rounds" key was
# always written (2 unless changed), so it cannot tell a choice from the old default.
DEFAULT_REFINE: int | None = None
DRAFT = " · draft"
# The Key control: the open song's key (the default), any key, or one of the 24 keys.
SONG_KEY, ANY_KEY = "song", "any"
KEYS = tuple(Key(tonic, mode) for tonic in range(12) for mode in ("major", "minor"))
KEY_KEPT_TIP = (
    "{mode} keeps the key of the music it is given{key}: only New writes in a chosen key."
)
NEW_SUFFIX = " · new"
# The Phrases control (models trained with phrase ends): bars between cadences; 0 lets
# the network phrase on its own.
CADENCE_CHOICES = (
    (2, "Cadence every 2 bars"),
    (4, "Cadence every 4 bars"),
    (1, "Cadence every bar"),
    (0, "Free phrasing"),
)
CADENCE_TIP = (
    "Where phrases end: the model holds a cadence chord there, as Bach does at his "
    "fermatas. Free phrasing lets the network decide."
)
PHRASED_MODES = (GENERATE, CONTINUE)  # the modes a cadence plan applies to
CADENCE_GIVEN_TIP = (
    "{mode} follows the phrasing of the music it is given: only New and Continue place cadences."
)
CADENCE_UNKNOWN_TIP = (
    "Available once the model is loaded, if it was trained with phrase ends: it then "
    "holds a cadence chord where you ask."
)
NO_CADENCE_TIP = (
    "This model was trained without phrase ends, so it phrases on its own. Train with "
    "phrase ends (Bach chorales, phrases.json) to place cadences."
)


# ------------------------------------------------------------------------------ settings
def _clamp(value: Any, low: float, high: float, kind: type) -> Any:
    try:
        number = kind(value)
    except (TypeError, ValueError):
        return None
    return min(max(number, kind(low)), kind(high))


@dataclass
class GenerationSettings:
    """The panel's knobs; `to_dict`/`from_dict` are what the panel stores in QSettings."""

    mode: str = GENERATE
    model: str = DEFAULT_MODEL
    bars: int = 8
    variations: int = 8
    temperature: float = DEFAULT_TEMPERATURE
    seed: int = 0
    seed_locked: bool = False
    refine_rounds: int | None = DEFAULT_REFINE
    beat_rounds: int | None = None  # None: the model's own reading
    sixteenths: bool = True  # the model's sixteenths pass, where it has one
    strict_voicing: bool = True
    tempo: float | None = None  # None: the open song's tempo
    key: str = SONG_KEY  # SONG_KEY, ANY_KEY or a key name ("G minor"); New only
    cadence_every: int = 2  # bars between phrase ends (0: free), for phrase-trained models
    recent_models: list[str] = field(default_factory=list)

    def sampling(self) -> SamplingOptions:
        return SamplingOptions(
            temperature=self.temperature,
            refine_rounds=self.refine_rounds,
            beat_rounds=self.beat_rounds,
            sixteenths=self.sixteenths,
            strict_voicing=self.strict_voicing,
        )

    def to_dict(self) -> dict[str, Any]:
        # "voice_rules" keeps the key earlier versions stored.
        return {
            "bars": self.bars,
            "variations": self.variations,
            "temperature": self.temperature,
            "seed": self.seed,
            "seed_locked": self.seed_locked,
            "refine": -1 if self.refine_rounds is None else self.refine_rounds,
            "beat_rounds": -1 if self.beat_rounds is None else self.beat_rounds,
            "voice_rules": self.strict_voicing,
            "sixteenths": self.sixteenths,
            "key": self.key,
            "cadence_every": self.cadence_every,
            "recent_models": list(self.recent_models[:MAX_RECENT]),
        }

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> GenerationSettings:
        """Settings from stored values; a missing or unreadable value keeps its default."""
        out = cls()
        ranges: dict[str, tuple[float, float, type]] = {
            "bars": (BARS_RANGE[0], 64, int),
            "variations": (1, MAX_VARIATIONS, int),
            "temperature": (*TEMPERATURE_RANGE, float),
            "seed": (*SEED_RANGE, int),
            "cadence_every": (0, 16, int),
        }
        for name, (low, high, kind) in ranges.items():
            value = _clamp(values.get(name), low, high, kind) if name in values else None
            if value is not None:
                setattr(out, name, value)
        for name, key in (("refine_rounds", "refine"), ("beat_rounds", "beat_rounds")):
            rounds = _clamp(values[key], -1, REFINE_RANGE[1], int) if key in values else None
            if rounds is not None:
                setattr(out, name, rounds if rounds >= 0 else None)
        booleans = (
            ("seed_locked", "seed_locked"),
            ("strict_voicing", "voice_rules"),
            ("sixteenths", "sixteenths"),
        )
        for name, key in booleans:
            if key in values:
                setattr(out, name, _as_bool(values[key]))
        if "key" in values:
            out.key = _stored_key(values["key"])
        recent = values.get("recent_models") or []
        recent = recent if isinstance(recent, list) else [recent]
        out.recent_models = [str(p) for p in recent if p][:MAX_RECENT]
        return out


def _as_bool(value: Any) -> bool:
    return value in (True, 1, "true", "True", "1")


def _stored_key(value: Any) -> str:
    """A stored key choice; an unreadable one falls back to the song's key."""
    text = str(value or "").strip()
    if text in (SONG_KEY, ANY_KEY):
        return text
    try:
        return parse_key(text).name
    except KeyNameError:
        return SONG_KEY


# ---------------------------------------------------------------------------- key, metre
def key_label(key: Key) -> str:
    """A key as a composer reads it: "C♯ major", "E♭ minor"."""
    tonic, mode = key.name.split(" ")
    return f"{tonic[0]}{tonic[1:].replace('#', '♯').replace('b', '♭')} {mode}"


def key_of_signature(sharps: int, minor: bool) -> Key:
    """The key a key signature names (-2 sharps, minor: G minor)."""
    major_tonic = (7 * sharps) % 12
    return Key((major_tonic + 9) % 12, "minor") if minor else Key(major_tonic, "major")


def song_key(song: Song, tick: int = 0) -> Key | None:
    """The open song's key: its key signature (at ``tick``, else its first) where it has
    one, else the Krumhansl estimate of its pitched notes (duration-weighted); None for a
    song without either."""
    signature = song.key_signature_at(tick) or (
        song.key_signatures[0] if song.key_signatures else None
    )
    if signature is not None:
        return key_of_signature(signature.sharps, bool(signature.minor))
    pitched = [t.notes for t in song.tracks if not t.is_drum and len(t.notes)]
    if not pitched:
        return None
    pitches = np.concatenate([n.pitch for n in pitched])
    durations = np.concatenate([n.duration for n in pitched])
    return estimate_key(pitch_class_weights(pitches, durations))


def chosen_key(settings: GenerationSettings, song: Song, tick: int = 0) -> Key | None:
    """The key New writes in (None: any key)."""
    if settings.key == ANY_KEY:
        return None
    if settings.key == SONG_KEY:
        return song_key(song, tick)
    try:
        return parse_key(settings.key)
    except KeyNameError:
        return None


def writing_tick(mode: str, context: EditingContext) -> int:
    """The tick whose time signature (and key) the music follows: New writes from the
    playhead's bar, Regenerate in its region, Continue and Harmonize in the song's
    first metre (as the engine reads it)."""
    if mode == GENERATE:
        return bar_floor(context.song, context.playhead)
    if mode == INFILL:
        region = context.loop or context.selection_range
        return int(region[0]) if region is not None else 0
    return 0


def writing_metre(mode: str, context: EditingContext) -> tuple[int, int]:
    ts = context.song.time_signature_at(writing_tick(mode, context))
    return (int(ts.numerator), int(ts.denominator))


def notes_text(notes: Sequence[str]) -> str:
    """The engine's notes as plain sentences for the panel."""
    sentences = []
    for note in notes:
        note = note.strip()
        if note:
            note = note[0].upper() + note[1:]
            sentences.append(note if note.endswith((".", "!", "?")) else note + ".")
    return "\n".join(sentences)


def key_kept_tip(mode: str, song: Song) -> str:
    """Why the Key control is off in Continue, Harmonize and Regenerate."""
    key = song_key(song)
    return KEY_KEPT_TIP.format(
        mode=MODE_TEXT[mode][0], key=f" ({key_label(key)})" if key is not None else ""
    )


# ------------------------------------------------------------------------------- context
@dataclass(frozen=True)
class EditingContext:
    """A snapshot of the open song and where the composer is working in it."""

    song: Song
    active_track: int = 0
    playhead: int = 0
    loop: tuple[int, int] | None = None
    selection_range: tuple[int, int] | None = None  # [first start, last end) of selection
    ticked: tuple[int, ...] = ()  # tracks ticked in the panel's track list

    @classmethod
    def of(cls, document: Any, ticked: Sequence[int] = ()) -> EditingContext:
        """From a `SongDocument` (read only; a copy of the song is taken)."""
        selection_range = None
        track = document.active()
        if track is not None and len(document.selection):
            rows = track.notes.indices_of_ids(document.selection)
            if len(rows):
                starts = track.notes.start[rows]
                ends = starts + track.notes.duration[rows]
                selection_range = (int(starts.min()), int(ends.max()))
        return cls(
            song=document.song.copy(),
            active_track=int(document.active_track),
            playhead=int(document.playhead),
            loop=document.loop,
            selection_range=selection_range,
            ticked=tuple(ticked),
        )


def describe_context(mode: str, context: EditingContext) -> str:
    """One line under the mode buttons: what Generate will work on."""
    song = context.song
    if mode == GENERATE:
        bar = len(song.bar_starts(max(context.playhead, 0)))
        return f"New music starts at bar {bar} (the playhead's bar)."
    if mode == CONTINUE:
        if context.selection_range is not None:
            return "Continues after the selected notes' bars."
        if context.loop is not None:
            return "Continues after the loop region."
        if song.note_count:
            return "Continues after the song's last bars."
        return "The song is empty: write or open some music to continue."
    if mode == HARMONIZE:
        k = context.active_track
        name = song.tracks[k].name if 0 <= k < len(song.tracks) else "—"
        return f"Keeps “{name}” and writes the other voices."
    if context.loop is not None:
        return f"Rewrites the loop region ({bars_text(song, *context.loop)})."
    if context.selection_range is not None:
        return "Rewrites the bars of the selected notes."
    return "Set a loop region or select notes to mark what to rewrite."


def bars_text(song: Song, start: int, end: int) -> str:
    first = len(song.bar_starts(start))
    last = len(song.bar_starts(max(start, end - 1)))
    return f"bar {first}" if first == last else f"bars {first}–{last}"


# ------------------------------------------------------------------------- tick helpers
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


def excerpt(song: Song, start: int, end: int) -> Song:
    """Every track of [start, end), moved to tick 0 (the primer of Continue)."""
    out = song.copy()
    for track in out.tracks:
        track.notes = window(track.notes, start, end).shifted(-start)
    return out


# ------------------------------------------------------------------------------ results
@dataclass(frozen=True)
class Part:
    """A generated voice's notes, placed in the open song's ticks."""

    name: str
    program: int
    is_drum: bool
    colour: str
    notes: Notes
    target: int | None = None  # fixed target track (Regenerate rewrites these tracks)


@dataclass(frozen=True)
class Variation:
    song: Song  # the whole generated piece: audition, "Open in new song"
    parts: tuple[Part, ...]
    start: int  # ticks of the open song the parts cover
    end: int
    caption: str
    seed: int | None = None  # "New" variations: they can be morphed
    stage: str = "refined"


@dataclass(frozen=True)
class Placement:
    """Where a request's results go in the open song (from the context at request time)."""

    mode: str
    start: int  # range of the open song the parts cover
    end: int
    source_lo: int = 0  # range of the generated song the parts come from
    source_hi: int | None = None  # None: to its end
    song_tpb: int = 480
    skip_melody: Notes | None = None  # harmonize: the given melody (not a new part)
    tracks: tuple[int, ...] = ()  # infill: the tracks rewritten
    label: str = ""


def _caption(placement: Placement, index: int, seed: int | None, song: Song) -> str:
    if placement.mode == GENERATE:  # new music: which key it came out in tells them apart
        key = song_key(song)
        return f"Seed {seed} · {key_label(key)}" if key is not None else f"Seed {seed}"
    return f"{placement.label} · {index + 1}"


def _melody_voice(song: Song, melody: Notes) -> int | None:
    """The voice of a harmonized song that holds the given melody (most shared notes)."""
    given = set(zip(melody.pitch.tolist(), melody.start.tolist(), strict=True))
    if not given:
        return None
    best, best_shared = None, 0
    for k, track in enumerate(song.tracks):
        notes = track.notes
        shared = len(given & set(zip(notes.pitch.tolist(), notes.start.tolist(), strict=True)))
        if shared > best_shared:
            best, best_shared = k, shared
    return best


def place(
    placement: Placement,
    song: Song,
    index: int,
    seed: int | None,
    stage: str,
    melody_voice: int | None = None,
) -> Variation:
    """One generated song as a Variation of the open song. ``melody_voice``: the track
    holding the given melody (harmonize; found by its notes when the engine does not say)."""
    parts: list[Part] = []
    tpb = placement.song_tpb
    if placement.mode == INFILL:
        for k in placement.tracks:
            t = song.tracks[k]
            notes = window(
                rescale(t.notes, song.ticks_per_beat, tpb), placement.start, placement.end
            )
            parts.append(Part(t.name, t.program, t.is_drum, t.colour, notes, k))
    else:
        skip = melody_voice
        if skip is None and placement.skip_melody is not None:
            skip = _melody_voice(song, rescale(placement.skip_melody, tpb, song.ticks_per_beat))
        lo, hi = placement.source_lo, placement.source_hi
        if hi is None:  # to the generated song's end, in the open song's ticks
            hi = round(song.end_tick * tpb / song.ticks_per_beat) + 1
        for k, t in enumerate(song.tracks):
            if k == skip:
                continue
            notes = rescale(t.notes, song.ticks_per_beat, tpb)  # the open song's ticks
            notes = window(notes, lo, max(hi, lo + 1)).shifted(placement.start - lo)
            parts.append(Part(t.name, t.program, t.is_drum, t.colour, notes))
    caption = _caption(placement, index, seed, song) + (DRAFT if stage == "draft" else "")
    return Variation(song, tuple(parts), placement.start, placement.end, caption, seed, stage)


# ------------------------------------------------------------------------ request plans
@dataclass(frozen=True)
class PlannedRequest:
    request: GenerationRequest
    placement: Placement


def plan_request(
    settings: GenerationSettings,
    context: EditingContext,
    window_bars: int = 4,
    phrase_model: bool = False,
) -> PlannedRequest:
    """The request for the current settings and context, and where its results go.

    Raises `GenerationError` (one sentence the panel shows) when the context gives the
    mode nothing to work on. ``window_bars``: how many of the song's last bars Continue
    starts from when nothing is selected (the model's window). ``phrase_model``: the
    model places cadences, so the request carries the Phrases choice.
    """
    song = context.song
    tpb = song.ticks_per_beat
    common = dict(
        model=settings.model,
        variations=settings.variations,
        seed=settings.seed,
        sampling=settings.sampling(),
        tempo=_tempo(settings, song),
        # Harmonize and Regenerate follow the phrasing of the music they are given.
        cadence_every=(
            settings.cadence_every if phrase_model and settings.mode in PHRASED_MODES else None
        ),
    )
    mode = settings.mode
    ticked = tuple(context.ticked)
    if mode == GENERATE:
        offset = bar_floor(song, context.playhead)
        length = settings.bars * song.ticks_per_bar(offset)
        key = chosen_key(settings, song, offset)
        request = GenerationRequest(
            mode=GENERATE,
            bars=settings.bars,
            key=key.name if key is not None else None,
            time_signature=writing_metre(GENERATE, context),  # the song's, at the playhead
            **common,
        )
        placement = Placement(GENERATE, offset, offset + length, 0, None, tpb)
        return PlannedRequest(request, placement)
    if mode == CONTINUE:
        given = ticked or tuple(range(len(song.tracks)))
        if not any(len(song.tracks[t].notes) for t in given):
            raise GenerationError(
                "Nothing to continue: write or open some music first (or tick tracks with notes)."
            )
        if context.selection_range is not None:
            start = bar_floor(song, context.selection_range[0])
            end = bar_ceil(song, context.selection_range[1])
            where = "the selection"
        elif context.loop is not None:
            start, end = bar_floor(song, context.loop[0]), bar_ceil(song, context.loop[1])
            where = "the loop"
        else:
            end = bar_ceil(song, song.end_tick)
            start = bar_floor(song, max(0, end - window_bars * song.ticks_per_bar(0)))
            where = "the last bars"
        primer = excerpt(song, start, end)
        # The engine continues after the primer's last note, rounded up to a whole bar.
        primer_len = bar_ceil(primer, primer.end_tick)
        end = start + primer_len
        span = settings.bars * song.ticks_per_bar(end)
        request = GenerationRequest(
            mode=CONTINUE,
            bars=settings.bars,
            song=primer,
            tracks=ticked if ticked and len(ticked) < len(song.tracks) else None,
            **common,
        )
        placement = Placement(
            CONTINUE,
            end,
            end + span,
            primer_len,
            primer_len + span,
            tpb,
            label=f"Continues {where}",
        )
        return PlannedRequest(request, placement)
    if mode == HARMONIZE:
        keep = context.active_track
        if not (0 <= keep < len(song.tracks)) or not len(song.tracks[keep].notes):
            raise GenerationError(
                "Nothing to harmonize: select the track that holds the melody (it needs notes)."
            )
        end = bar_ceil(song, song.end_tick)
        request = GenerationRequest(mode=HARMONIZE, song=song, melody_track=keep, **common)
        placement = Placement(
            HARMONIZE,
            0,
            end,
            0,
            end,
            tpb,
            skip_melody=song.tracks[keep].notes,
            label=f"Around {song.tracks[keep].name}",
        )
        return PlannedRequest(request, placement)
    if mode == INFILL:
        if context.loop is not None:
            start, end = context.loop
        elif context.selection_range is not None:
            start, end = context.selection_range
        else:
            raise GenerationError(
                "Nothing to regenerate: set a loop region or select notes to mark the bars."
            )
        if not ticked:
            raise GenerationError("Tick the tracks to rewrite.")
        request = GenerationRequest(
            mode=INFILL, song=song, region=(int(start), int(end)), tracks=ticked, **common
        )
        placement = Placement(
            INFILL, int(start), int(end), song_tpb=tpb, tracks=ticked, label="Bars rewritten"
        )
        return PlannedRequest(request, placement)
    raise GenerationError(f"Unknown mode {mode!r}.")


def _tempo(settings: GenerationSettings, song: Song) -> float:
    tempo = settings.tempo if settings.tempo is not None else song.initial_bpm
    return float(min(max(tempo, TEMPO_RANGE[0]), TEMPO_RANGE[1]))


# --------------------------------------------------------------------- into the song
def distinct_colours(existing: Sequence[str], count: int) -> list[str]:
    """``count`` track colours that differ from ``existing`` and from each other: the
    palette's unused colours first, then evenly spread hues."""
    used = {c.lower() for c in existing}
    out = [c for c in TRACK_PALETTE if c.lower() not in used][:count]
    k = 0
    while len(out) < count:
        hue = (0.13 + k * 0.618034) % 1.0  # golden-ratio steps: never two close hues
        r, g, b = colorsys.hsv_to_rgb(hue, 0.5, 0.95)
        colour = f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"
        if colour not in used and colour not in out:
            out.append(colour)
        k += 1
    return out


def new_tracks(parts: Sequence[Part], song: Song) -> list[Track]:
    """Parts as new tracks ("Alto · new"), coloured apart from the song's tracks."""
    colours = distinct_colours([t.colour for t in song.tracks], len(parts))
    return [
        Track(f"{p.name}{NEW_SUFFIX}", p.program, p.is_drum, colour, notes=p.notes)
        for p, colour in zip(parts, colours, strict=True)
    ]


@dataclass(frozen=True)
class ReplacePlan:
    """What "Replace selection" does: each voice's destination, as one undo step."""

    replacements: tuple[ReplaceNotesInRange, ...]
    new_tracks: tuple[Track, ...]
    lines: tuple[str, ...]  # "Alto → Bass", "Tenor → new track “Tenor · new”"
    exact: bool  # every voice went to the track of its own name: nothing to warn about

    @property
    def summary(self) -> str:
        return "\n".join(self.lines)


def replace_plan(variation: Variation, song: Song, candidates: Sequence[int]) -> ReplacePlan:
    """Voices into the ticked tracks (``candidates``): same name first, then the other
    ticked tracks in order; voices left over become new tracks (never dropped)."""
    parts = [p for p in variation.parts if len(p.notes) or p.target is not None]
    free = [t for t in candidates if 0 <= t < len(song.tracks)]
    targets: list[int | None] = [p.target for p in parts]
    for t in targets:
        if t is not None and t in free:
            free.remove(t)
    by_name = [False] * len(parts)
    for k, part in enumerate(parts):
        if targets[k] is not None:
            by_name[k] = True  # Regenerate: the track's own notes
            continue
        for t in free:
            if song.tracks[t].name.strip().lower() == part.name.strip().lower():
                targets[k], by_name[k] = t, True
                free.remove(t)
                break
    for k in range(len(parts)):
        if targets[k] is None and free and len(parts[k].notes):
            targets[k] = free.pop(0)
    leftover = [p for p, t in zip(parts, targets, strict=True) if t is None and len(p.notes)]
    added = new_tracks(leftover, song)
    replacements = []
    lines = []
    added_names = iter(t.name for t in added)
    for part, target, named in zip(parts, targets, by_name, strict=True):
        if target is not None:
            replacements.append(
                ReplaceNotesInRange(target, variation.start, variation.end, part.notes)
            )
            track_name = song.tracks[target].name
            lines.append(
                f"{part.name} → {track_name}"
                if named
                else f"{part.name} → {track_name} (a different voice)"
            )
        elif len(part.notes):
            lines.append(f"{part.name} → new track “{next(added_names)}”")
    exact = all(by_name) and not added
    return ReplacePlan(tuple(replacements), tuple(added), tuple(lines), exact)


# --------------------------------------------------------------------------- the model
def model_description(model: Any, metric_label: Callable[[str], str] = str) -> str:
    """What a composer wants to know about a model: what it learnt from, how long."""
    meta = getattr(model, "meta", {}) or {}
    data = meta.get("data", {}) if isinstance(meta.get("data"), dict) else {}
    summary = data.get("summary", {}) if isinstance(data.get("summary"), dict) else {}
    train = meta.get("train_config", {}) if isinstance(meta.get("train_config"), dict) else {}
    source = str(summary.get("source") or train.get("data") or "unknown data")
    source = "Bach chorales" if source == "bach-chorales" else Path(source).name or source
    tracks = ", ".join(t.get("name", "?") for t in getattr(model, "templates", []))
    parts = [f"Learnt from <b>{source}</b>"]
    if summary.get("files_used") is not None:
        parts[-1] += f" ({summary['files_used']} files, {summary.get('windows', '?')} phrases)"
    if getattr(model, "phrase_conditioned", False):
        parts[-1] += " and their phrase ends"
    steps = f"{int(meta.get('step', 0)):,} training steps"
    if train.get("init_from"):  # the steps of this run only
        steps += f", fine-tuned from {Path(str(train['init_from'])).name}"
    if train.get("distill_from"):
        steps += f", taught by {Path(str(train['distill_from'])).name} (distilled)"
        if train.get("distill_refined"):  # it learnt the teacher's refined music
            steps += ", learnt its teacher's refined music"
    parts.append(steps)
    if train.get("preset"):
        parts.append(f"model size {train['preset']}")
    parts.append(f"tracks: {tracks}")
    quality = last_quality(getattr(model, "path", ""), metric_label)
    if quality:
        parts.append(quality)
    return " · ".join(parts)


def last_quality(checkpoint: str, metric_label: Callable[[str], str] = str) -> str:
    """The last quality report of the checkpoint's run, if the run folder has one."""
    if not checkpoint:
        return ""
    path = Path(checkpoint)
    log = next(
        (
            p / "metrics.jsonl"
            for p in (path.parent, path.parent.parent)
            if (p / "metrics.jsonl").is_file()
        ),
        None,
    )
    if log is None:
        return ""
    last: dict[str, Any] | None = None
    try:
        with log.open(encoding="utf-8") as handle:
            for line in handle:
                if '"metrics"' in line:
                    last = json.loads(line)
    except (OSError, ValueError):
        return ""
    if not last:
        return ""
    shown = [
        f"{metric_label(k)} {float(v):.2g}"
        for k, v in last.items()
        if k not in ("type", "step") and isinstance(v, (int, float))
    ][:3]
    return f"quality at step {last.get('step', '?')}: " + ", ".join(shown)


# ----------------------------------------------------------------------------- the job
@dataclass
class Job:
    """The one job in flight. The worker checks ``cancelled`` between network passes."""

    id: int
    kind: str  # "load", "generate" or "morph"
    planned: PlannedRequest | None = None
    source: str = ""  # "load": the model source
    progress: float = 0.0
    stage: str = ""
    delivered: bool = False  # a first result arrived (later ones refine it in place)
    event: threading.Event = field(default_factory=threading.Event)

    def cancelled(self) -> bool:
        return self.event.is_set()


class GenerationSession:
    """The Generation panel's state and decisions, without Qt."""

    def __init__(self, settings: GenerationSettings | None = None) -> None:
        self.settings = settings or GenerationSettings()
        self.model: Any = None
        self.model_source: str | None = None
        self.job: Job | None = None
        self.variations: list[Variation] = []
        self.selection: list[int] = []
        self.last_planned: PlannedRequest | None = None
        self.notes: tuple[str, ...] = ()  # what the engine says about the last music
        self._next_id = 0

    # -- job state ---------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """A job is in flight (a cancelled job is no longer: its results are ignored)."""
        return self.job is not None

    def _begin(self, kind: str, **values: Any) -> Job:
        if self.job is not None:
            raise RuntimeError("a generation job is already running")
        self._next_id += 1
        self.job = Job(self._next_id, kind, **values)
        return self.job

    def begin_load(self, source: str) -> Job:
        self.model = None
        self.model_source = None
        return self._begin("load", source=str(source))

    def begin_generate(self, context: EditingContext) -> Job:
        """Plan the request (may raise `GenerationError`) and start its job. The seed
        moves past the seeds this batch uses unless it is locked: next time, new music."""
        window_bars = int(getattr(self.model, "bars", 4) or 4)
        phrase_model = bool(getattr(self.model, "phrase_conditioned", False))
        planned = plan_request(self.settings, context, window_bars, phrase_model)
        job = self._begin("generate", planned=planned)
        self.last_planned = planned
        self.notes = ()
        if not self.settings.seed_locked:
            self.settings.seed = (self.settings.seed + self.settings.variations) % SEED_RANGE[1]
        return job

    @property
    def morph_needs_any_key(self) -> bool:
        """The last New was written in a chosen key: its variations are picked and
        transposed candidates, not one latent path each, so they cannot be morphed."""
        last = self.last_planned
        return last is not None and last.request.mode == GENERATE and last.request.key is not None

    def morph_seeds(self) -> tuple[int, int] | None:
        """The seeds of the two selected "New" variations, if that is what is selected."""
        picked = [self.variations[k] for k in self.selection if k < len(self.variations)]
        if len(picked) != 2 or any(v.seed is None for v in picked):
            return None
        return int(picked[0].seed), int(picked[1].seed)  # type: ignore[arg-type]

    def begin_morph(self, steps: int) -> Job:
        seeds = self.morph_seeds()
        if seeds is None or self.last_planned is None:
            raise GenerationError("Pick two variations made with New (click, then Ctrl-click).")
        base = self.last_planned
        self.notes = ()
        request = replace(base.request, seed=seeds[0], variations=steps)
        placement = replace(base.placement, label=f"{seeds[0]} → {seeds[1]}")
        return self._begin("morph", planned=PlannedRequest(request, placement))

    def is_current(self, job: Job | None) -> bool:
        return job is not None and self.job is not None and job.id == self.job.id

    def report_progress(self, job: Job, fraction: float, stage: str = "") -> bool:
        if not self.is_current(job):
            return False
        job.progress = min(max(float(fraction), 0.0), 1.0)
        job.stage = stage
        return True

    def cancel(self) -> bool:
        """Ask the job to stop and forget it at once: the panel is idle again while the
        worker winds down, and whatever it still delivers is ignored."""
        job, self.job = self.job, None
        if job is None:
            return False
        job.event.set()
        return True

    def finish(self, job: Job) -> None:
        if self.is_current(job):
            self.job = None

    # -- results -----------------------------------------------------------------------
    def model_loaded(self, job: Job, model: Any) -> bool:
        if not self.is_current(job):
            return False
        self.model = model
        self.model_source = job.source
        return True

    def accept(self, job: Job, result: GenerationResult) -> bool:
        """Place a result's songs; a refined batch replaces its draft in place, and the
        variation being looked at stays selected. False for a stale or cancelled job."""
        if not self.is_current(job) or job.planned is None:
            return False
        placement = job.planned.placement
        keyed = job.planned.request.key is not None
        self.notes = tuple(result.notes)
        if not job.delivered:
            self.variations, keep = [], []
            job.delivered = True
        else:
            keep = list(self.selection)
        for k, song in enumerate(result.songs):
            index = result.first + k
            seed = result.seeds[k] if k < len(result.seeds) else None  # a morph has none
            if job.kind == "morph" or seed is None:
                steps = job.planned.request.variations
                variation = place(placement, song, index, None, result.stage)
                variation = replace(variation, caption=f"{placement.label}: {index + 1}/{steps}")
            else:
                voice = result.melody_voice
                variation = place(placement, song, index, int(seed), result.stage, voice)
                if placement.mode != GENERATE or keyed:  # only a plain New can be morphed
                    variation = replace(variation, seed=None)
            if index < len(self.variations):
                self.variations[index] = variation
            else:
                self.variations.append(variation)
        self.selection = keep if keep else ([0] if self.variations else [])
        return True

    def select(self, indices: Sequence[int]) -> None:
        self.selection = [k for k in indices if 0 <= k < len(self.variations)]

    @property
    def selected(self) -> Variation | None:
        if not self.selection or self.selection[0] >= len(self.variations):
            return None
        return self.variations[self.selection[0]]

    def insert_tracks(self, song: Song) -> list[Track]:
        """The selected variation's voices as new tracks (nothing for a silent one)."""
        variation = self.selected
        if variation is None:
            return []
        return new_tracks([p for p in variation.parts if len(p.notes)], song)

    def replace_plan(self, song: Song, ticked: Sequence[int]) -> ReplacePlan | None:
        variation = self.selected
        if variation is None:
            return None
        candidates = list(ticked)
        if variation.parts and self.last_planned is not None:
            mode = self.last_planned.placement.mode
            if mode == HARMONIZE and self.last_planned.request.melody_track is not None:
                keep = self.last_planned.request.melody_track
                candidates = [t for t in candidates if t != keep]  # the melody stays
        return replace_plan(variation, song, candidates)
