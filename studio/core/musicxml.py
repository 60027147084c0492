"""MusicXML import and export (``.musicxml``, ``.xml``, ``.mxl``) through music21.

MusicXML is how a piece moves to MuseScore, Sibelius or Dorico. music21 is imported
only inside these functions: it takes a third of a second to import, and a composer who
never touches MusicXML should not pay for it at start-up.

What survives a round trip Pianola -> MusicXML -> Pianola:

* one part per track, with its name and General MIDI program (drum tracks are written
  on MIDI channel 10 and come back as drums);
* pitches, onsets and durations, exactly when they lie on a grid of 64th notes, 32nd-note
  triplets, quintuplets or sextuplets (at 480 ticks per beat: multiples of 30, 40, 24 or
  20 ticks). Notation has no "7 ticks": other times are moved to the nearest 64th or
  triplet point and the export report says how many notes moved;
* velocities, through MusicXML's per-note ``dynamics`` attribute (notes that sound
  together with one duration but different velocities go into separate voices);
* tempo changes (metronome marks) and time signatures.

* the sustain pedal, as pedal marks ("Ped. ... *"). Notation ties a pedal mark to notes,
  so a press starts at the first note or rest that begins while the pedal is down and
  ends where the last one ends: exact when the pedal moves with the notes.

What does not: export writes the key that the notes suggest (Krumhansl-Schmuckler), not
the song's key signatures, and import drops the file's key signature (reading it would
also change the bytes the corpus scripts write, so the bundled dataset would need a
rebuild); other
controllers (modulation, expression, pitch bend) have no notation; mute, solo and
colours are not notation. On import, tied notes become one note, grace notes (which take no
time) are dropped, repeats are not unfolded, and a pickup bar is kept as a bar that
starts with rests so that the bar lines stay where the score has them.

`score_to_song` is the one reader of music21 scores: MusicXML import and the scripts that
build training folders from the music21 corpus (scripts/build_bach_dataset.py,
scripts/build_corpus_folders.py) share it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from studio.core import keys
from studio.core.atomic import atomic_path
from studio.core.gm import DRUM_CHANNEL
from studio.core.song import (
    DEFAULT_TICKS_PER_BEAT,
    MIDI_MAX,
    SUSTAIN,
    Controllers,
    KeySignature,
    Notes,
    Song,
    TempoChange,
    TimeSignature,
    Track,
    palette_colour,
)

MUSICXML_SUFFIXES = (".musicxml", ".xml", ".mxl")
MUSICXML_FILTER = "MusicXML files (*.musicxml *.xml *.mxl)"
MAX_MUSICXML_BYTES = 64 * 1024 * 1024
IMPORT_TICKS_PER_BEAT = DEFAULT_TICKS_PER_BEAT
DEFAULT_VELOCITY = 90  # what music21 plays a note without dynamics at
# Export grid: 64th notes and 32nd-note triplets, as quarter-note divisors.
GRID_DIVISORS = (16, 12)
# Times exactly on these grids are kept as they are: quintuplets and sextuplets of a score.
EXACT_DIVISORS = (16, 12, 20, 24)


class MusicXmlImportError(Exception):
    """A MusicXML file could not be read. The message names the file and the reason."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"Cannot read MusicXML file '{self.path}': {reason}")


class MusicXmlExportError(Exception):
    """A song could not be written as MusicXML. The message names the file and the reason."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"Cannot write MusicXML file '{self.path}': {reason}")


@dataclass(frozen=True)
class MusicXmlExport:
    """What an export wrote."""

    path: str
    parts: int
    notes: int
    moved_to_grid: int  # notes whose onset or end moved to the notation grid
    key: str  # the key signature written, e.g. "F major"


def is_musicxml_path(path: str | os.PathLike[str]) -> bool:
    return str(path).lower().endswith(MUSICXML_SUFFIXES)


# ---------------------------------------------------------------------------------------
# Import
# ---------------------------------------------------------------------------------------
def load_musicxml(path: str | os.PathLike[str]) -> Song:
    """Read a MusicXML (or compressed .mxl) file into a `Song` at 480 ticks per beat.

    Raises `MusicXmlImportError` for a missing, unreadable, oversized or malformed file,
    and for one that holds no notes.
    """
    path = Path(path)
    try:
        if path.is_dir():
            raise MusicXmlImportError(path, "it is a folder, not a file")
        size = path.stat().st_size
    except FileNotFoundError:
        raise MusicXmlImportError(path, "the file does not exist") from None
    except OSError as exc:
        raise MusicXmlImportError(
            path, f"the file cannot be read ({exc.strerror or exc})"
        ) from None
    if size == 0:
        raise MusicXmlImportError(path, "the file is empty")
    if size > MAX_MUSICXML_BYTES:
        raise MusicXmlImportError(
            path, f"the file is too large ({size / 2**20:.1f} MiB; the limit is 64 MiB)"
        )
    from music21 import converter, stream

    fmt = "musicxml"
    try:
        # forceSource and no pickle: always read the file itself, and leave no cache behind.
        parsed = converter.parse(str(path), format=fmt, forceSource=True, storePickle=False)
    except Exception as exc:  # music21 raises many unrelated types for bad files
        raise MusicXmlImportError(path, f"it is not valid MusicXML ({_reason(exc)})") from None
    if isinstance(parsed, stream.Opus):
        scores = list(parsed.scores)
        if not scores:
            raise MusicXmlImportError(path, "it contains no score")
        parsed = scores[0]
    try:
        song = score_to_song(parsed, _score_title(parsed, path.stem))
    except MusicXmlImportError:
        raise
    except Exception as exc:
        raise MusicXmlImportError(path, f"its contents cannot be read ({_reason(exc)})") from None
    if not song.tracks:
        raise MusicXmlImportError(path, "it contains no parts")
    return song


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


def score_to_song(
    score: Any,
    title: str | None = None,
    *,
    velocity: int | None = None,
    default_bpm: float | None = None,
    read_tempos: bool = True,
    read_keys: bool = True,
) -> Song:
    """A `Song` at 480 ticks per beat from a music21 Score (or a single Part or Stream).

    The one music21 reader: MusicXML import (`load_musicxml`) and the scripts that build
    training folders from the music21 corpus all go through it. Each part becomes one
    track, in score order, even when it has no notes (callers that want only sounding
    tracks drop them): its name, General MIDI program, drum flag and pedal marks come
    from the score. Tied notes become one note, grace notes are dropped, and a pickup bar
    (music21's ``paddingLeft``, which its MusicXML, Humdrum and ABC readers all set) is
    padded with rests at its start so that later bars start on the song's bar lines. The
    first time signature holds from tick 0; a metronome mark at the score's start does too.

    ``title``: the song's title; None takes the score's (metadata title or movement
    name), else "Untitled". ``velocity``: every note at this velocity; None reads each
    note's dynamics (90 where it has none). ``default_bpm``: the tempo from tick 0 when
    the score has no metronome mark there; None keeps the first mark's tempo from the
    start (120 when there is none, as `Song` does). ``read_tempos``: False ignores the
    score's metronome marks (the song plays at ``default_bpm``, or 120). ``read_keys``:
    the score's key signatures become the song's (False: none, as the bundled training
    sets were built).
    """
    from music21 import meter, stream, tempo

    tpb = IMPORT_TICKS_PER_BEAT
    parts = list(score.parts) if isinstance(score, stream.Score) else [score]
    if title is None:
        title = _score_title(score, "Untitled")

    shift = _pickup_shift(parts)

    def ticks(ql: Any) -> int:
        return round((Fraction(ql) + shift) * tpb)

    def start_tick(ql: Any) -> int:
        # What stands at the score's start holds over the pickup's padding too.
        return 0 if ql == 0 else ticks(ql)

    time_signatures: dict[int, tuple[int, int]] = {}
    tempos: dict[int, float] = {}
    if parts:
        for ts in parts[0].recurse().getElementsByClass(meter.TimeSignature):
            numerator, denominator = int(ts.numerator), int(ts.denominator)
            if 1 <= numerator <= 64 and denominator in (1, 2, 4, 8, 16, 32, 64):
                tick = 0 if not time_signatures else start_tick(ts.getOffsetInHierarchy(parts[0]))
                time_signatures[tick] = (numerator, denominator)
    for part in parts if read_tempos else []:
        for mark in part.recurse().getElementsByClass(tempo.MetronomeMark):
            bpm = mark.getQuarterBPM()
            if bpm:
                tick = start_tick(mark.getOffsetInHierarchy(part))
                tempos.setdefault(tick, min(max(float(bpm), 1.0), 999.0))
    if default_bpm is not None:
        tempos.setdefault(0, float(default_bpm))
    tracks = [_part_to_track(part, k, ticks, velocity) for k, part in enumerate(parts)]
    song = Song(
        title,
        tpb,
        [TempoChange(t, round(b, 3)) for t, b in sorted(tempos.items())],
        [TimeSignature(t, n, d) for t, (n, d) in sorted(time_signatures.items())],
        tracks,
    )
    if parts and read_keys:
        song.key_signatures = _key_signatures(parts[0], start_tick, song)
    return song


def _key_signatures(part: Any, start_tick: Any, song: Song) -> list[KeySignature]:
    """The part's key signatures. One without a stated mode (MusicXML's <mode> is
    optional) is minor when the notes' key estimate is the relative minor."""
    from music21 import key

    estimate: tuple[int, str] | None = None  # the notes' key, read only when needed
    found: dict[int, KeySignature] = {}
    for signature in part.recurse().getElementsByClass(key.KeySignature):
        sharps = int(signature.sharps)
        if not -7 <= sharps <= 7:
            continue
        if isinstance(signature, key.Key) and signature.mode in ("major", "minor"):
            minor = signature.mode == "minor"
        else:
            estimate = estimate or estimate_key(song)
            minor = sharps == estimate[0] and estimate[1].endswith("minor")
        tick = start_tick(signature.getOffsetInHierarchy(part))
        found[tick] = KeySignature(tick, sharps, minor)
    return [found[t] for t in sorted(found)]


def _pickup_shift(parts: list[Any]) -> Fraction:
    """How far a pickup bar is padded: a pickup is shorter than its time signature, so
    everything moves right by the missing part and the song's bar lines (which start at
    tick 0) match the score's."""
    from music21 import stream

    if parts:
        measures = list(parts[0].getElementsByClass(stream.Measure))
        if measures and measures[0].paddingLeft:
            return Fraction(measures[0].paddingLeft)
    return Fraction(0)


def fermata_ticks(score: Any) -> list[int]:
    """Ticks (at `IMPORT_TICKS_PER_BEAT`, on `score_to_song`'s time line) where a note or
    chord with a fermata starts, in any part: the phrase ends of a chorale, which MIDI
    files cannot carry. Sorted, without repeats."""
    from music21 import expressions, stream

    parts = list(score.parts) if isinstance(score, stream.Score) else [score]
    shift = _pickup_shift(parts)
    found: set[int] = set()
    for part in parts:
        for element in part.recurse().notes:
            if any(isinstance(e, expressions.Fermata) for e in element.expressions):
                offset = Fraction(element.getOffsetInHierarchy(part))
                found.add(round((offset + shift) * IMPORT_TICKS_PER_BEAT))
    return sorted(found)


def _score_title(score: Any, default: str) -> str:
    meta = getattr(score, "metadata", None)
    if meta is None:
        return default
    return meta.title or meta.movementName or default


def _part_to_track(part: Any, index: int, ticks: Any, velocity: int | None) -> Track:
    from music21 import instrument

    inst = part.getInstrument(returnDefault=False)
    program = int(getattr(inst, "midiProgram", None) or 0) if inst is not None else 0
    is_drum = inst is not None and (
        getattr(inst, "midiChannel", None) == DRUM_CHANNEL
        or isinstance(inst, instrument.Percussion)
    )
    name = part.partName or (inst.partName if inst is not None else None)
    name = name or (inst.instrumentName if inst is not None else None) or f"Part {index + 1}"

    # (pitch, start, end, velocity, tie, voice) per sounding pitch; ties are joined below.
    events: list[_Event] = []
    for offset, voice, element in _timed_notes(part):
        if element.duration.isGrace or element.quarterLength == 0:
            continue  # grace notes take no time in the score
        start = ticks(offset)
        end = ticks(offset + element.quarterLength)
        chord_velocity = _velocity(element)
        members = list(element.notes) if element.isChord else [element]
        for member in members:
            midi = _midi_pitch(member)
            if midi is None:
                continue
            tie = member.tie if member.tie is not None else element.tie
            tie_type = tie.type if tie is not None else None
            vel = _velocity(member, chord_velocity) if velocity is None else velocity
            events.append((midi, start, end, vel, tie_type, voice))
    return Track(
        str(name),
        min(max(program, 0), MIDI_MAX),
        bool(is_drum),
        palette_colour(index),
        notes=_join_ties(events),
        controllers=_pedal_events(part, ticks),
    )


def _pedal_events(part: Any, ticks: Any) -> Controllers:
    """CC64 events from the part's pedal marks: down where the first marked note
    starts, up where the last one ends."""
    from music21 import expressions

    spans: list[tuple[int, int]] = []
    for mark in part.recurse().getElementsByClass(expressions.PedalMark):
        elements = mark.getSpannedElements()
        if not elements:
            continue
        first, last = elements[0], elements[-1]
        down = ticks(first.getOffsetInHierarchy(part))
        up = ticks(last.getOffsetInHierarchy(part) + last.quarterLength)
        if up > down:
            spans.append((down, up))
    tick: list[int] = []
    value: list[int] = []
    for down, up in sorted(spans):
        if tick and down < tick[-1]:  # overlapping marks: one longer press
            tick[-1] = max(tick[-1], up)
            continue
        tick += [down, up]
        value += [127, 0]
    return Controllers(tick, [SUSTAIN] * len(tick), value)


_Event = tuple[int, int, int, int, "str | None", str]


def _timed_notes(part: Any) -> Any:
    """(offset in the part, voice id, note or chord) for every note of ``part``.

    Walks measures and their voices directly: one flatten() would lose which voice a
    note is in, and ties must be followed within a voice.
    """
    from music21 import stream

    measures = list(part.getElementsByClass(stream.Measure))
    if not measures:
        for element in part.flatten().notes:
            yield element.offset, "", element
        return
    for measure in measures:
        base = measure.offset
        for element in measure.notes:
            yield base + element.offset, "", element
        for voice in measure.voices:
            for element in voice.notes:
                yield base + element.offset, str(voice.id), element


def _midi_pitch(note: Any) -> int | None:
    pitch = getattr(note, "pitch", None)
    if pitch is None:  # an unpitched (percussion) note: use its drum-map pitch
        stored = getattr(note, "storedInstrument", None)
        midi = getattr(stored, "percMapPitch", None)
        if midi is None:
            try:
                midi = note.displayPitch().midi
            except Exception:
                return None
    else:
        midi = pitch.midi
    midi = round(float(midi))
    return midi if 0 <= midi <= MIDI_MAX else None


def _velocity(note: Any, default: int = DEFAULT_VELOCITY) -> int:
    if not note.hasVolumeInformation() or note.volume.velocityScalar is None:
        return default
    return min(max(round(note.volume.velocityScalar * MIDI_MAX), 1), MIDI_MAX)


def _join_ties(events: list[_Event]) -> Notes:
    """Notes from per-pitch events, a tied chain of notes becoming one note.

    A tie continues in the same voice when it can, else in any voice (some editors move
    a tied note between voices at a bar line).
    """
    events.sort(key=lambda e: (e[1], e[0]))
    pitch: list[int] = []
    start: list[int] = []
    end: list[int] = []
    velocity: list[int] = []
    open_ties: dict[tuple[int, int, str], int] = {}  # (pitch, tick, voice) -> row
    for midi, t0, t1, vel, tie, voice in events:
        row = None
        if tie in ("stop", "continue"):
            row = open_ties.pop((midi, t0, voice), None)
            if row is None:
                key = next((k for k in open_ties if k[0] == midi and k[1] == t0), None)
                row = open_ties.pop(key) if key is not None else None
        if row is None:
            row = len(pitch)
            pitch.append(midi)
            start.append(t0)
            end.append(t1)
            velocity.append(vel)
        else:
            end[row] = t1
        if tie in ("start", "continue"):
            open_ties[(midi, end[row], voice)] = row
    duration = np.maximum(np.asarray(end, np.int64) - np.asarray(start, np.int64), 1)
    return Notes(pitch, start, duration, velocity)


# ---------------------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------------------
def save_musicxml(song: Song, path: str | os.PathLike[str]) -> MusicXmlExport:
    """Write ``song`` as MusicXML, atomically; ``.mxl`` writes the compressed form.

    Raises `MusicXmlExportError` (the old file, if any, is left as it was).
    """
    path = Path(path)
    fmt = "mxl" if path.suffix.lower() == ".mxl" else "musicxml"
    score, report = song_to_score(song)
    try:
        with atomic_path(path) as tmp:
            # The parts are already notated (song_to_score); music21's own pass would
            # deep-copy the score and beam it, doubling the time.
            score.write(fmt, fp=str(tmp), makeNotation=False)
    except OSError as exc:
        raise MusicXmlExportError(path, exc.strerror or str(exc)) from None
    except Exception as exc:  # music21 found something it cannot notate
        raise MusicXmlExportError(path, _reason(exc)) from None
    return MusicXmlExport(str(path), *report)


def song_to_score(song: Song) -> tuple[Any, tuple[int, int, int, str]]:
    """A notated music21 Score for ``song`` (measures, ties, accidentals, tuplets) and
    (parts, notes, moved_to_grid, key name)."""
    from music21 import key, metadata, meter, stream, tempo

    tpb = song.ticks_per_beat
    total_notes = 0
    moved = 0
    sharps, key_name = written_key(song)
    # Pad every part to the end of the last bar so that all parts have the same bars; a
    # tempo or meter change after the last note still gets a bar to live in.
    changes = [t.tick for t in song.tempos] + [t.tick for t in song.time_signatures]
    end_tick = max(song.end_tick, max(changes) + 1, 1)
    bars = song.bar_starts(end_tick)
    last_bar = bars[-1] if bars else 0
    final = last_bar if last_bar >= end_tick else last_bar + song.ticks_per_bar(last_bar)
    total = _to_grid(final, tpb)

    score = stream.Score()
    score.metadata = metadata.Metadata()
    score.metadata.title = song.title
    for k, track in enumerate(song.tracks):
        part = stream.Part(id=f"P{k + 1}")
        part.partName = track.name
        part.insert(0, _instrument(track))
        for ts in song.time_signatures:
            part.insert(
                _to_grid(ts.tick, tpb), meter.TimeSignature(f"{ts.numerator}/{ts.denominator}")
            )
        # With its mode (<mode>), so that a minor key reads back as minor.
        part.insert(0, key.KeySignature(sharps).asKey(key_name.split(" ")[1]))
        for change in song.key_signatures[1:]:
            mode = "minor" if change.minor else "major"
            part.insert(_to_grid(change.tick, tpb), key.KeySignature(change.sharps).asKey(mode))
        if k == 0:
            for change in song.tempos:
                mark = tempo.MetronomeMark(number=_tidy(change.bpm), referent="quarter")
                part.insert(_to_grid(change.tick, tpb), mark)
        voices, track_moved, tuplets = _voices(track.notes, tpb, sharps, total)
        moved += track_moved
        total_notes += len(track.notes)
        if len(voices) == 1:
            _fill(part, voices[0])
        else:
            for number, content in enumerate(voices, 1):
                voice = stream.Voice(id=str(number))
                _fill(voice, content)
                part.insert(0, voice)
        if not track.is_drum:
            _pedal_marks(part, track, voices[0], tpb)
        _make_notation(part, tuplets)
        score.insert(0, part)
    return score, (len(song.tracks), total_notes, moved, key_name)


def _pedal_marks(part: Any, track: Track, content: list[tuple[Fraction, Any]], tpb: int) -> None:
    """The track's sustain pedal as pedal marks ("Ped. ... *") over the notes and rests
    of its first voice that start while the pedal is down (notation ties a pedal to
    notes, so its ends move to the nearest note boundaries)."""
    from music21 import expressions

    for down, up in track.controllers.sustain_spans(track.notes.end).tolist():
        start, stop = _to_grid(down, tpb), _to_grid(up, tpb)
        elements = [element for offset, element in content if start <= offset < stop]
        if elements:
            part.insert(0, expressions.PedalMark(*elements))


def _fill(container: Any, content: list[tuple[Fraction, Any]]) -> None:
    # coreInsert skips the re-sorting that insert() does per element (quadratic).
    for offset, element in content:
        container.coreInsert(offset, element)
    container.coreElementsChanged()


def _make_notation(part: Any, tuplets: bool) -> None:
    """music21's makeNotation, less what costs most and notation programs redo anyway.

    Beaming and stem directions are left out (MuseScore, Sibelius and Dorico beam by
    the meter on import), and the tuplet passes run only when there are triplets:
    together a third of the export time.
    """
    from music21 import stream
    from music21.stream import makeNotation

    part.makeMeasures(inPlace=True)
    makeNotation.makeAccidentalsInMeasureStream(part)
    makeNotation.makeTies(part, inPlace=True)
    # Durations no single note value can show (a quarter plus a 16th) become tied notes.
    part.splitAtDurations(recurse=True)
    if tuplets:
        for measure in part.getElementsByClass(stream.Measure):
            makeNotation.splitElementsToCompleteTuplets(measure, recurse=True, addTies=True)
            makeNotation.consolidateCompletedTuplets(measure, recurse=True, onlyIfTied=True)
            makeNotation.makeTupletBrackets(measure, inPlace=True)


def _tidy(bpm: float) -> float | int:
    return int(bpm) if float(bpm).is_integer() else round(float(bpm), 3)


def _instrument(track: Track) -> Any:
    from music21 import instrument

    try:
        inst = instrument.instrumentFromMidiProgram(track.program)
    except Exception:  # music21 knows no instrument for a few programs
        inst = instrument.Instrument()
        inst.midiProgram = track.program
    if track.is_drum:
        inst = instrument.Percussion()
        inst.midiProgram = track.program
        inst.midiChannel = DRUM_CHANNEL
    inst.partName = track.name
    return inst


def _to_grid(tick: int, tpb: int) -> Fraction:
    """The position in quarter notes: exact on a notated grid (64ths, triplets,
    quintuplets, sextuplets), else the nearest 64th-note or 32nd-note-triplet point."""
    exact = Fraction(int(tick), tpb)
    if any((exact * d).denominator == 1 for d in EXACT_DIVISORS):
        return exact
    candidates = [Fraction(round(exact * d), d) for d in GRID_DIVISORS]
    return min(candidates, key=lambda c: (abs(c - exact), c.denominator))


def _voices(
    notes: Notes, tpb: int, sharps: int, total: Fraction
) -> tuple[list[list[tuple[Fraction, Any]]], int, bool]:
    """The notes as voices of (offset, note/chord/rest), each voice without overlaps,
    the number of notes moved to the grid, and whether any time needs a triplet.

    Notes that share onset, duration and velocity become one chord; each chord goes into
    the first voice that is free at its onset (greedy interval colouring: as few voices
    as the densest moment needs). Gaps are filled with rests up to ``total``.
    """
    from music21 import chord, note

    groups: dict[tuple[Fraction, Fraction, int], list[int]] = {}
    moved = 0
    for pitch, start, duration, velocity in zip(
        notes.pitch.tolist(), notes.start.tolist(), notes.duration.tolist(),
        notes.velocity.tolist(), strict=True,
    ):  # fmt: skip
        onset = _to_grid(start, tpb)
        end = _to_grid(start + duration, tpb)
        if end <= onset:
            end = onset + Fraction(1, GRID_DIVISORS[0])
        if onset * tpb != start or end * tpb != start + duration:
            moved += 1
        members = groups.setdefault((onset, end, velocity), [])
        if pitch not in members:
            members.append(pitch)
    voice_ends: list[Fraction] = []
    voices: list[list[tuple[Fraction, Any]]] = []
    for (onset, end, velocity), pitches in sorted(groups.items()):
        slot = next((v for v, free in enumerate(voice_ends) if free <= onset), None)
        if slot is None:
            slot = len(voices)
            voices.append([])
            voice_ends.append(Fraction(0))
        if onset > voice_ends[slot]:
            voices[slot].append(
                (voice_ends[slot], note.Rest(quarterLength=onset - voice_ends[slot]))
            )
        length = end - onset
        if len(pitches) == 1:
            element = note.Note(_spelled(pitches[0], sharps), quarterLength=length)
        else:
            element = chord.Chord(
                [_spelled(p, sharps) for p in sorted(pitches)], quarterLength=length
            )
        element.volume.velocityScalar = velocity / MIDI_MAX
        voices[slot].append((onset, element))
        voice_ends[slot] = end
    if not voices:
        voices.append([])
        voice_ends.append(Fraction(0))
    for content, free in zip(voices, voice_ends, strict=True):
        if free < total:
            content.append((free, note.Rest(quarterLength=total - free)))
    tuplets = any(
        _is_tuplet(offset) or _is_tuplet(Fraction(element.quarterLength))
        for content in voices
        for offset, element in content
    )
    return voices, moved, tuplets


def _is_tuplet(quarters: Fraction) -> bool:
    d = quarters.denominator
    return d & (d - 1) != 0  # not a power of two: a triplet, quintuplet...


def _spelled(midi: int, sharps: int) -> Any:
    """A pitch spelled with flats in flat keys and sharps otherwise."""
    from music21 import pitch

    p = pitch.Pitch(midi=int(midi))
    if p.accidental is not None and p.accidental.alter != 0:
        wanted = -1 if sharps < 0 else 1
        if p.accidental.alter != wanted:
            p = p.getEnharmonic()
    return p


_MAJOR_NAMES = ("C", "D♭", "D", "E♭", "E", "F", "F♯", "G", "A♭", "A", "B♭", "B")
_MINOR_NAMES = ("C", "C♯", "D", "E♭", "E", "F", "F♯", "G", "G♯", "A", "B♭", "B")
# Sharps (+) or flats (-) of each major key by tonic pitch class (D♭, G♭ and friends as flats).
_MAJOR_SHARPS = (0, -5, 2, -3, 4, -1, 6, 1, -4, 3, -2, 5)


def written_key(song: Song) -> tuple[int, str]:
    """(sharps, name) of the key signature to write: the song's first where it states
    one, else the key its notes suggest (`estimate_key`)."""
    if song.key_signatures:
        first = song.key_signatures[0]
        names = _MINOR_BY_SHARPS if first.minor else _MAJOR_BY_SHARPS
        mode = "minor" if first.minor else "major"
        return first.sharps, f"{names[first.sharps + 7]} {mode}"
    return estimate_key(song)


# Key names by key signature, 7 flats .. 7 sharps.
_MAJOR_BY_SHARPS = (
    "C♭",
    "G♭",
    "D♭",
    "A♭",
    "E♭",
    "B♭",
    "F",
    "C",
    "G",
    "D",
    "A",
    "E",
    "B",
    "F♯",
    "C♯",
)
_MINOR_BY_SHARPS = (
    "A♭",
    "E♭",
    "B♭",
    "F",
    "C",
    "G",
    "D",
    "A",
    "E",
    "B",
    "F♯",
    "C♯",
    "G♯",
    "D♯",
    "A♯",
)


def estimate_key(song: Song) -> tuple[int, str]:
    """(sharps, name) of the key the pitched notes suggest; C major when there are none.

    Krumhansl-Schmuckler over the duration-weighted pitch classes (`studio.core.keys`).
    """
    pitched = [t.notes for t in song.tracks if not t.is_drum and len(t.notes)]
    if not pitched:
        return 0, "C major"
    weights = keys.pitch_class_weights(
        np.concatenate([n.pitch for n in pitched]), np.concatenate([n.duration for n in pitched])
    )
    found = keys.estimate_key(weights)
    if found is None:
        return 0, "C major"
    minor = found.mode == "minor"
    relative_major = (found.tonic + 3) % 12 if minor else found.tonic
    names = _MINOR_NAMES if minor else _MAJOR_NAMES
    return _MAJOR_SHARPS[relative_major], f"{names[found.tonic]} {found.mode}"
