"""Standard MIDI File import and export, exact to the tick.

Why not read through pretty_midi's objects: pretty_midi turns ticks into seconds (a
round trip then drifts by a tick), drops notes that are never switched off, and ends
every overlapping note of one pitch at the first note-off. A composer's file must come
back as it went in, so this module reads and writes the Standard MIDI File format
itself, in ticks, with these rules (training data is read with the same rules):

* Notes are paired first-on, first-off per channel and pitch, so overlapping notes of
  one pitch keep their own starts, and a file that writes "note-on, then the previous
  note's note-off" at one tick reads as two notes, not one note of zero length.
* A note-on with velocity 0 is a note-off. A zero-length note lasts one tick. A note
  never switched off lasts until the file ends (as it would sound on a synth).
* Each (file track, channel) pair becomes one `Track`; channel 10 is the drum channel.
  A track's program is the program change in force at its first note. Control changes
  (sustain pedal and every other CC) and pitch bends go to the track of their channel.
* The first track of a multi-track file that holds no channel events is the conductor
  track: its name is the song title; tempo and time-signature changes are read from
  every track.
* System common and real-time messages inside a track (clock, song position, ...) carry
  no music: they are skipped with their data bytes and listed in the import report.

Bad input never escapes as a library error, a hang or a memory blow-up: the limits of
`studio.core.limits` are enforced while the bytes are read (note, event and track
counts), every problem becomes a `MidiImportError` naming the file and the reason, and
what was skipped or repaired is returned as an `ImportReport`. A song that loads
always saves: nothing it holds lies beyond `limits.MAX_TICK`.
"""

from __future__ import annotations

import os
import re
import struct
from array import array
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from studio.core import limits
from studio.core.atomic import atomic_write_bytes
from studio.core.gm import DRUM_CHANNEL, program_name
from studio.core.import_report import (
    Cancel,
    ImportReport,
    LoadCancelled,
    Progress,
    SongFileError,
    plural,
)
from studio.core.song import (
    PITCH_BEND,
    Controllers,
    KeySignature,
    Notes,
    Song,
    TempoChange,
    TimeSignature,
    Track,
    palette_colour,
)

MAX_VLQ = 0x0FFFFFFF  # largest value a 4-byte variable-length quantity holds
MIDI_DEFAULT_BPM = 120.0  # what a MIDI file means when it states no tempo
MIN_BPM, MAX_BPM = 1.0, 999.0
_MICROSECONDS_PER_MINUTE = 60_000_000
_SLOTS = 16 * 128  # (channel, pitch) pairs
_CHECK_EVERY = 1 << 16  # events between progress / cancel / limit checks
# System common and real-time messages a track may (wrongly) hold: data bytes and a name.
_SYSTEM_MESSAGES = {
    0xF1: (1, "MIDI time code"),
    0xF2: (2, "song position"),
    0xF3: (1, "song select"),
    0xF6: (0, "tune request"),
    0xF8: (0, "timing clock"),
    0xFA: (0, "start"),
    0xFB: (0, "continue"),
    0xFC: (0, "stop"),
    0xFE: (0, "active sensing"),
}


class MidiImportError(SongFileError):
    """A MIDI file could not be read. The message names the file and the reason."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        super().__init__(path, reason, f"Cannot read MIDI file '{path}': {reason}")


class MidiExportError(ValueError):
    """A song cannot be written as a Standard MIDI File."""


class _Malformed(Exception):
    """Internal: a reason why the bytes are not a readable MIDI file."""


# ---------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------
def load_midi(path: str | os.PathLike[str]) -> Song:
    """Read a Standard MIDI File (format 0, 1 or 2) into a `Song`.

    Raises `MidiImportError` for a missing, empty, truncated, oversized or non-MIDI file
    and for SMPTE (frame-based) timing, which a beat-based editor cannot represent.
    """
    return load_midi_with_report(path)[0]


def load_midi_with_report(
    path: str | os.PathLike[str], progress: Progress | None = None, cancel: Cancel | None = None
) -> tuple[Song, ImportReport]:
    """`load_midi` plus the report of what was skipped or repaired.

    ``progress(fraction)`` is called now and then while reading; when ``cancel()`` returns
    True the read stops with `LoadCancelled`.
    """
    path = Path(path)
    data = read_midi_bytes(path)
    return parse_midi_with_report(
        data, path, default_title=_printable(path.stem), progress=progress, cancel=cancel
    )


def read_midi_bytes(path: Path) -> bytes:
    """The bytes of a MIDI file, refusing a folder, a missing or an oversized file."""
    try:
        if path.is_dir():
            raise MidiImportError(path, "it is a folder, not a file")
        size = path.stat().st_size
        if size > limits.MAX_MIDI_BYTES:
            raise MidiImportError(
                path,
                f"the file is too large ({size / 2**20:.1f} MiB; "
                f"the limit is {limits.MAX_MIDI_BYTES // 2**20} MiB)",
            )
        return path.read_bytes()
    except FileNotFoundError:
        raise MidiImportError(path, "the file does not exist") from None
    except PermissionError:
        raise MidiImportError(path, "permission denied") from None
    except OSError as exc:
        raise MidiImportError(path, f"the file cannot be read ({exc.strerror or exc})") from None


def parse_midi(
    data: bytes, source: str | os.PathLike[str] = "<bytes>", default_title: str = "Untitled"
) -> Song:
    """Parse the bytes of a MIDI file; ``source`` names it in error messages."""
    return parse_midi_with_report(data, source, default_title)[0]


def parse_midi_with_report(
    data: bytes,
    source: str | os.PathLike[str] = "<bytes>",
    default_title: str = "Untitled",
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> tuple[Song, ImportReport]:
    """`parse_midi` plus the `ImportReport`; see `load_midi_with_report`."""
    if len(data) > limits.MAX_MIDI_BYTES:
        raise MidiImportError(
            source,
            f"the data is too large ({len(data) / 2**20:.1f} MiB; "
            f"the limit is {limits.MAX_MIDI_BYTES // 2**20} MiB)",
        )
    budget = _Budget(len(data), progress, cancel)
    try:
        song = _parse(bytes(data), default_title, budget)
    except _Malformed as exc:
        raise MidiImportError(source, str(exc)) from None
    except _Cancelled:
        raise LoadCancelled(source) from None
    except MemoryError:
        raise MidiImportError(source, "there is not enough memory to read it") from None
    except (IndexError, ValueError, struct.error, OverflowError) as exc:
        # A check above should have caught this; still, never leak a raw exception.
        raise MidiImportError(source, f"the file is malformed ({exc})") from None
    if progress is not None:
        progress(1.0)
    return song, ImportReport(str(source), tuple(budget.report))


class _Cancelled(Exception):
    """Internal: the caller asked to stop."""


class _Budget:
    """Limits, progress and cancellation shared by the tracks of one file.

    The byte loop takes events in chunks and calls `check` between chunks, so the
    checks cost nothing per event.
    """

    def __init__(self, size: int, progress: Progress | None, cancel: Cancel | None) -> None:
        self.size = max(size, 1)
        self.progress = progress
        self.cancel = cancel
        self.events_left = limits.MAX_EVENTS
        self.notes = 0  # in the tracks read so far
        self.controllers = 0
        self.song_tracks = 0
        self.report: list[str] = []

    def take(self) -> int:
        """How many events the loop may read before it calls `check`."""
        if self.events_left <= 0:
            raise _Malformed(f"it has more than {limits.MAX_EVENTS:,} events")
        chunk = min(_CHECK_EVERY, self.events_left)
        self.events_left -= chunk
        return chunk

    def check(self, pos: int, track: _TrackData) -> int:
        """Between chunks: cancellation, progress, and the note and controller caps (a
        chunk overshoots them by at most `_CHECK_EVERY` events, which memory allows)."""
        self.count(track, final=False)
        if self.cancel is not None and self.cancel():
            raise _Cancelled
        if self.progress is not None:
            self.progress(0.95 * pos / self.size)  # building the song is the last 5%
        return self.take()

    def give_back(self, unused: int) -> None:
        self.events_left += unused

    def count(self, track: _TrackData, final: bool = True) -> None:
        """Refuse the file once its notes or controllers pass the caps; when ``final``,
        add a finished track's counts to the file's."""
        notes = self.notes + track.n_notes
        controllers = self.controllers + len(track.cc_tick)
        if notes > limits.MAX_NOTES:
            raise _Malformed(f"it has more than {limits.MAX_NOTES:,} notes")
        if controllers > limits.MAX_CONTROLLERS:
            raise _Malformed(f"it has more than {limits.MAX_CONTROLLERS:,} controller events")
        if final:
            self.notes, self.controllers = notes, controllers


@dataclass
class _TrackData:
    """What one MTrk chunk contributes. Events are kept as compact typed arrays (a few
    bytes each) and paired with numpy once the chunk is read, so memory stays a small
    multiple of the file's size and note pairing is linear."""

    name: str | None = None
    instrument: str | None = None
    end_tick: int = 0
    channel_events: bool = False
    # note-ons in file order: tick, slot (channel * 128 + pitch), velocity
    on_tick: array = field(default_factory=lambda: array("Q"))
    on_slot: array = field(default_factory=lambda: array("H"))
    on_velocity: array = field(default_factory=lambda: array("B"))
    # note-offs that end a sounding note, in file order: tick, slot
    off_tick: array = field(default_factory=lambda: array("Q"))
    off_slot: array = field(default_factory=lambda: array("H"))
    # control changes and pitch bends: tick, channel * 256 + number, value
    cc_tick: array = field(default_factory=lambda: array("Q"))
    cc_key: array = field(default_factory=lambda: array("H"))
    cc_value: array = field(default_factory=lambda: array("h"))
    programs: list[tuple[int, int, int]] = field(default_factory=list)  # (tick, channel, program)
    tempos: list[tuple[int, int]] = field(default_factory=list)  # (tick, microseconds per beat)
    time_signatures: list[tuple[int, int, int]] = field(default_factory=list)  # (tick, num, den)
    keys: list[tuple[int, int, int]] = field(default_factory=list)  # (tick, sf byte, mode)
    _channels: np.ndarray | None = None

    @property
    def n_notes(self) -> int:
        return len(self.on_tick)

    def note_channels(self) -> np.ndarray:
        """The channels this track plays notes on (computed once)."""
        if self._channels is None:
            slots = np.frombuffer(self.on_slot, dtype=np.uint16)
            self._channels = np.flatnonzero(np.bincount(slots >> 7, minlength=16))
        return self._channels

    def paired_notes(self, file_end: int) -> tuple[np.ndarray, ...]:
        """(channel, pitch, start, duration, velocity) with notes paired first-on,
        first-off per channel and pitch. A note never switched off ends at ``file_end``;
        a zero-length note lasts one tick."""
        slot = np.frombuffer(self.on_slot, dtype=np.uint16)
        off_slot = np.frombuffer(self.off_slot, dtype=np.uint16)
        n = len(slot)
        # The k-th note-on of a slot pairs with the k-th note-off of that slot (only
        # note-offs that ended a sounding note were recorded, so there are never more).
        # Index arrays are int32 and freed as soon as used: this is the peak of a load.
        on_order = np.argsort(slot, kind="stable").astype(np.int32)
        sorted_slot = slot[on_order]
        rank = np.arange(n, dtype=np.int32)
        rank -= np.searchsorted(sorted_slot, sorted_slot, side="left").astype(np.int32)
        off_order = np.argsort(off_slot, kind="stable").astype(np.int32)
        sorted_off = off_slot[off_order]
        off_first = np.searchsorted(sorted_off, sorted_slot, side="left").astype(np.int32)
        ended = rank < np.searchsorted(sorted_off, sorted_slot, side="right") - off_first
        del sorted_slot, sorted_off
        off_row = off_first[ended]
        off_row += rank[ended]
        del rank, off_first
        duration = np.full(n, file_end, dtype=np.int64)
        duration[on_order[ended]] = np.frombuffer(self.off_tick, dtype=np.uint64)[
            off_order[off_row]
        ]
        del on_order, off_order, off_row, ended
        self.off_tick, self.off_slot = array("Q"), array("H")  # no longer needed: free them
        # A view, not a copy: ticks are far below 2**63 (the loop's sum of 4-byte deltas).
        start = np.frombuffer(self.on_tick, dtype=np.int64)
        duration -= start  # in place: these arrays are the largest of a big file
        np.maximum(duration, 1, out=duration)
        velocity = np.frombuffer(self.on_velocity, dtype=np.uint8)
        return slot >> 7, slot & 0x7F, start, duration, velocity

    def controllers(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(channel, tick, number, value) of the control changes and pitch bends."""
        key = np.frombuffer(self.cc_key, dtype=np.uint16).astype(np.int64)
        tick = np.frombuffer(self.cc_tick, dtype=np.uint64).astype(np.int64)
        value = np.frombuffer(self.cc_value, dtype=np.int16).astype(np.int64)
        return key >> 8, tick, key & 0xFF, value


def _unwrap_riff(data: bytes) -> bytes:
    """RMID files wrap a standard MIDI file in a RIFF 'data' chunk."""
    pos = 12
    while pos + 8 <= len(data):
        kind = data[pos : pos + 4]
        (size,) = struct.unpack_from("<I", data, pos + 4)
        if kind == b"data":
            return data[pos + 8 : pos + 8 + size]
        pos += 8 + size + (size & 1)
    raise _Malformed("a RIFF file without MIDI data")


def _parse(data: bytes, default_title: str, budget: _Budget) -> Song:
    if not data:
        raise _Malformed("the file is empty")
    if data[:4] == b"RIFF" and data[8:12] == b"RMID":
        data = _unwrap_riff(data)
    if data[:4] != b"MThd":
        raise _Malformed("not a MIDI file (it does not start with an 'MThd' header)")
    if len(data) < 14:
        raise _Malformed("the file is truncated inside its header")
    (header_len,) = struct.unpack_from(">I", data, 4)
    if header_len < 6:
        raise _Malformed(f"the header is too short ({header_len} bytes)")
    midi_format, n_tracks, division = struct.unpack_from(">HHH", data, 8)
    if midi_format > 2:
        raise _Malformed(f"unknown MIDI file format {midi_format}")
    if division & 0x8000:
        raise _Malformed(
            "it uses SMPTE (frames per second) timing, which Pianola cannot represent; "
            "save it from your sequencer with beat-based (ticks per quarter note) timing"
        )
    if division == 0:
        raise _Malformed("it declares 0 ticks per beat")
    if n_tracks == 0:
        raise _Malformed("it contains no tracks")

    tracks: list[_TrackData] = []
    skipped: dict[str, int] = {}
    pos = 8 + header_len
    while len(tracks) < n_tracks:
        if pos + 8 > len(data):
            raise _Malformed(
                f"the file is truncated: its header promises {n_tracks} track(s) "
                f"but it ends after {len(tracks)}"
            )
        kind = data[pos : pos + 4]
        if kind != b"MTrk" and not (kind.isascii() and kind.isalnum()):
            raise _Malformed(f"the file is corrupt: unexpected bytes {kind!r} where a chunk starts")
        (length,) = struct.unpack_from(">I", data, pos + 4)
        body = pos + 8
        if body + length > len(data):
            raise _Malformed(
                f"the file is truncated: track {len(tracks) + 1} declares {length} bytes "
                f"but only {len(data) - body} remain"
            )
        if kind == b"MTrk":
            track = _parse_track(data, body, body + length, len(tracks) + 1, budget, skipped)
            # Refuse a file of thousands of tracks before it has all been read.
            budget.song_tracks += len(track.note_channels())
            if budget.song_tracks > limits.MAX_TRACKS:
                raise _Malformed(f"it would make more than {limits.MAX_TRACKS} tracks")
            tracks.append(track)
        # Chunks of other types are skipped, as the standard asks of readers.
        pos = body + length
    _report_skipped(skipped, budget.report)
    return _build_song(tracks, division, default_title, budget.report)


def _parse_track(
    data: bytes, pos: int, end: int, number: int, budget: _Budget, skipped: dict[str, int]
) -> _TrackData:
    """Decode one MTrk chunk. A tight loop over bytes: this is the hot path of loading,
    so the limits are checked per chunk of events (`_Budget`) and per note-on only."""
    out = _TrackData()
    on_tick, on_slot, on_velocity = out.on_tick.append, out.on_slot.append, out.on_velocity.append
    off_tick, off_slot = out.off_tick.append, out.off_slot.append
    cc_tick, cc_key, cc_value = out.cc_tick.append, out.cc_key.append, out.cc_value.append
    sounding = [0] * _SLOTS  # notes on and not yet off, per channel*128+pitch
    channel_events = False
    countdown = budget.take()
    tick = 0
    running = 0
    where = f"track {number}"
    while pos < end:
        if not countdown:
            countdown = budget.check(pos, out)
        countdown -= 1
        # delta time: a variable-length quantity of at most 4 bytes
        byte = data[pos]
        pos += 1
        if byte < 0x80:
            tick += byte
        else:
            delta = byte & 0x7F
            count = 1
            while byte & 0x80:
                if pos >= end:
                    raise _Malformed(f"{where} is truncated inside a delta time")
                if count == 4:
                    raise _Malformed(f"{where} has a delta time longer than 4 bytes")
                byte = data[pos]
                pos += 1
                delta = (delta << 7) | (byte & 0x7F)
                count += 1
            tick += delta
        if pos >= end:
            raise _Malformed(f"{where} is truncated: a delta time has no event")
        status = data[pos]
        if status & 0x80:
            pos += 1
            if status < 0xF0:
                running = status
        elif running:
            status = running  # running status: the data bytes follow directly
        else:
            raise _Malformed(f"{where} has a data byte where an event should start")

        if status < 0xA0:  # note-off or note-on: most of any file, so tested first
            if pos + 2 > end:
                raise _Malformed(f"{where} is truncated inside an event")
            key = data[pos]
            value = data[pos + 1]
            pos += 2
            if (key | value) > 0x7F:
                raise _Malformed(f"{where} has an invalid data byte in an event")
            slot = ((status & 0x0F) << 7) | key
            if status >= 0x90 and value:
                on_tick(tick)
                on_slot(slot)
                on_velocity(value)
                sounding[slot] += 1
            elif sounding[slot]:  # a note-off for a note that is not on is ignored
                sounding[slot] -= 1
                off_tick(tick)
                off_slot(slot)
            continue
        if status < 0xF0:
            channel_events = True
            kind = status & 0xF0
            if kind == 0xC0 or kind == 0xD0:
                if pos >= end:
                    raise _Malformed(f"{where} is truncated inside an event")
                value = data[pos]
                pos += 1
                if value > 0x7F:
                    raise _Malformed(f"{where} has an invalid data byte 0x{value:02x}")
                if kind == 0xC0:
                    out.programs.append((tick, status & 0x0F, value))
                else:
                    skipped["pressure"] = skipped.get("pressure", 0) + 1
                continue
            if pos + 2 > end:
                raise _Malformed(f"{where} is truncated inside an event")
            key = data[pos]
            value = data[pos + 1]
            pos += 2
            if (key | value) > 0x7F:
                raise _Malformed(f"{where} has an invalid data byte in an event")
            if kind == 0xB0:
                cc_tick(tick)
                cc_key(((status & 0x0F) << 8) | key)
                cc_value(value)
            elif kind == 0xE0:  # pitch bend: 14 bits, least significant 7 first
                cc_tick(tick)
                cc_key(((status & 0x0F) << 8) | PITCH_BEND)
                cc_value(((value << 7) | key) - 8192)
            else:
                skipped["pressure"] = skipped.get("pressure", 0) + 1
            continue

        if status == 0xFF:
            if pos >= end:
                raise _Malformed(f"{where} is truncated inside a meta event")
            meta = data[pos]
            length, pos = _read_vlq(data, pos + 1, end, where)
            if pos + length > end:
                raise _Malformed(f"{where} is truncated inside a meta event")
            payload = data[pos : pos + length]
            pos += length
            if meta == 0x2F:  # end of track
                break
            if meta == 0x51 and length == 3:
                out.tempos.append((tick, int.from_bytes(payload, "big")))
            elif meta == 0x58 and length >= 2:
                out.time_signatures.append((tick, payload[0], payload[1]))
            elif meta == 0x59 and length == 2:
                out.keys.append((tick, payload[0], payload[1]))
            elif meta == 0x03 and out.name is None:
                out.name = _decode_text(payload)
            elif meta == 0x04 and out.instrument is None:
                out.instrument = _decode_text(payload)
        elif status == 0xF0 or status == 0xF7:
            length, pos = _read_vlq(data, pos, end, where)
            if pos + length > end:
                raise _Malformed(f"{where} is truncated inside a system-exclusive message")
            pos += length
            skipped["sysex"] = skipped.get("sysex", 0) + 1
        elif status in _SYSTEM_MESSAGES:
            # A live-stream message stored in a file: skip it and its data bytes, and keep
            # the running status (as mido and pretty_midi do).
            n_data, label = _SYSTEM_MESSAGES[status]
            while n_data and pos < end and data[pos] < 0x80:
                pos += 1
                n_data -= 1
            skipped[label] = skipped.get(label, 0) + 1
        else:
            raise _Malformed(f"{where} has an unexpected status byte 0x{status:02x}")

    budget.give_back(countdown)
    budget.count(out)
    out.channel_events = channel_events or bool(out.n_notes or out.off_tick or out.programs)
    out.end_tick = tick
    dangling = len(out.on_tick) - len(out.off_tick)  # only note-offs that ended a note count
    if dangling:
        skipped["never ended"] = skipped.get("never ended", 0) + dangling
    return out


def _report_skipped(skipped: dict[str, int], report: list[str]) -> None:
    system = [
        f"{plural(skipped[label], label + ' message')}"
        for _, label in _SYSTEM_MESSAGES.values()
        if skipped.get(label)
    ]
    if system:
        report.append(
            "Skipped system messages stored inside tracks (" + ", ".join(system) + "); "
            "they control live devices and carry no music."
        )
    if skipped.get("pressure"):
        report.append(
            f"Left out {plural(skipped['pressure'], 'aftertouch (key or channel pressure) event')}"
            ": Pianola does not keep pressure."
        )
    if skipped.get("sysex"):
        report.append(
            f"Left out {plural(skipped['sysex'], 'system-exclusive message')} "
            "(device-specific settings)."
        )
    if skipped.get("never ended"):
        report.append(
            f"{plural(skipped['never ended'], 'note was', 'notes were')} never switched off; "
            "they now last until the end of the file."
        )


def _read_vlq(data: bytes, pos: int, end: int, where: str) -> tuple[int, int]:
    value = 0
    for _ in range(4):
        if pos >= end:
            raise _Malformed(f"{where} is truncated inside a length")
        byte = data[pos]
        pos += 1
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value, pos
    raise _Malformed(f"{where} has a length longer than 4 bytes")


def _decode_text(payload: bytes) -> str:
    payload = payload.rstrip(b"\x00")
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        # Older files use 8-bit code pages; Latin-1 maps every byte and never fails.
        return payload.decode("latin-1")


def _printable(text: str) -> str:
    """``text`` with characters that cannot be written as UTF-8 (the lone surrogates a
    file name with undecodable bytes gives) replaced by U+FFFD."""
    return re.sub("[\ud800-\udfff]", "\ufffd", text)


def _build_song(
    tracks: list[_TrackData], ticks_per_beat: int, default_title: str, report: list[str]
) -> Song:
    last_tick = limits.max_song_tick(ticks_per_beat)
    tempos = _tempo_map(tracks, last_tick, report)
    time_signatures = _time_signature_map(tracks, last_tick, report)

    title = default_title
    first = tracks[0]
    conductor = len(tracks) > 1 and not first.channel_events
    if (conductor or len(tracks) == 1) and first.name:
        title = first.name

    file_end = max(t.end_tick for t in tracks)
    all_programs = sorted(p for t in tracks for p in t.programs)
    channels_with_notes = {int(c) for t in tracks for c in t.note_channels()}
    song_tracks: list[Track] = []
    # Controllers wait here until their track exists: (file track index, channel) -> rows.
    track_of: dict[tuple[int, int], int] = {}
    first_track_of_channel: dict[int, int] = {}
    for index, data in enumerate(tracks):
        if not data.n_notes:
            # A named track with a program change but no notes is an empty part worth
            # keeping (Pianola writes one for an empty track). A nameless one that only
            # sets up a channel whose notes live elsewhere, or a conductor track, is not.
            for channel in sorted({c for _, c, _ in data.programs}):
                if data.name is None and channel in channels_with_notes:
                    continue
                program = _program_at(data.programs, all_programs, channel, 0)
                track_of[(index, channel)] = len(song_tracks)
                first_track_of_channel.setdefault(channel, len(song_tracks))
                song_tracks.append(
                    _make_track(data, channel, program, Notes(), 1, len(song_tracks))
                )
            continue
        channels, pitch, start, duration, velocity = data.paired_notes(file_end)
        if int((start + duration).max()) > last_tick:
            raise _Malformed(
                f"its notes run past {limits.describe_tick_limit(ticks_per_beat)}, "
                "the longest song Pianola holds"
            )
        used = data.note_channels()
        for channel in used:
            rows = np.nonzero(channels == channel)[0] if len(used) > 1 else slice(None)
            notes = Notes(pitch[rows], start[rows], duration[rows], velocity[rows], validate=False)
            program = _program_at(data.programs, all_programs, int(channel), int(notes.start[0]))
            track_of[(index, int(channel))] = len(song_tracks)
            first_track_of_channel.setdefault(int(channel), len(song_tracks))
            song_tracks.append(
                _make_track(data, int(channel), program, notes, len(used), len(song_tracks))
            )
    if len(song_tracks) > limits.MAX_TRACKS:
        raise _Malformed(f"it would make more than {limits.MAX_TRACKS} tracks")
    _attach_controllers(tracks, song_tracks, track_of, first_track_of_channel, last_tick, report)
    keys = _key_signature_map(tracks, last_tick, report)
    return Song(title, ticks_per_beat, tempos, time_signatures, song_tracks, keys)


def _attach_controllers(
    tracks: list[_TrackData],
    song_tracks: list[Track],
    track_of: dict[tuple[int, int], int],
    first_track_of_channel: dict[int, int],
    last_tick: int,
    report: list[str],
) -> None:
    """Give each song track the controllers of its channel: from its own file track, or
    (channel state being global in MIDI) from a set-up track that holds no notes."""
    parts: dict[int, list[tuple[np.ndarray, ...]]] = {}
    homeless = late = 0
    for index, data in enumerate(tracks):
        if not len(data.cc_tick):
            continue
        channel, tick, number, value = data.controllers()
        in_time = tick <= last_tick
        late += int(np.count_nonzero(~in_time))
        for c in np.unique(channel):
            target = track_of.get((index, int(c)), first_track_of_channel.get(int(c)))
            rows = np.nonzero((channel == c) & in_time)[0]
            if target is None:
                homeless += len(rows)
                continue
            parts.setdefault(target, []).append((tick[rows], number[rows], value[rows]))
    for target, blocks in parts.items():
        tick, number, value = (np.concatenate(c) for c in zip(*blocks, strict=True))
        song_tracks[target].controllers = Controllers(tick, number, value, validate=False)
    if homeless:
        report.append(
            f"Left out {plural(homeless, 'controller event')} on channels that have no notes."
        )
    if late:
        report.append(
            f"Left out {plural(late, 'controller event')} after the end of the longest song "
            "Pianola holds."
        )


def _program_at(
    own: list[tuple[int, int, int]], everywhere: list[tuple[int, int, int]], channel: int, tick: int
) -> int:
    """Program in force on ``channel`` at ``tick``: from the track itself if it sets one,
    else from any track (channel state is global in MIDI); the first one if all come later."""
    for source in (own, everywhere):
        changes = [(t, p) for t, c, p in source if c == channel]
        if changes:
            before = [p for t, p in changes if t <= tick]
            return before[-1] if before else changes[0][1]
    return 0


def _make_track(
    data: _TrackData, channel: int, program: int, notes: Notes, groups: int, index: int
) -> Track:
    is_drum = channel == DRUM_CHANNEL
    if groups == 1:
        name = data.name or data.instrument or program_name(program, is_drum)
    else:
        name = f"{program_name(program, is_drum)} (ch {channel + 1})"
    return Track(name, program, is_drum, palette_colour(index), notes=notes)


def _tempo_map(tracks: list[_TrackData], last_tick: int, report: list[str]) -> list[TempoChange]:
    events = sorted((tick, us) for t in tracks for tick, us in t.tempos if us > 0)
    by_tick: dict[int, float] = {}
    late = clamped = 0
    for tick, us in events:
        if tick > last_tick:
            late += 1
            continue
        bpm = _tidy_bpm(us)
        # Tempos outside what the song model holds (nearly always tricks) are clamped.
        if not MIN_BPM <= bpm <= MAX_BPM:
            clamped += 1
        by_tick[tick] = min(max(bpm, MIN_BPM), MAX_BPM)
    if 0 not in by_tick:
        by_tick[0] = MIDI_DEFAULT_BPM
    if clamped:
        report.append(
            f"Set {plural(clamped, 'tempo')} outside {MIN_BPM:g}-{MAX_BPM:g} bpm to the "
            "nearest tempo Pianola holds."
        )
    if late:
        report.append(
            f"Left out {plural(late, 'tempo change')} after the end of the longest song "
            "Pianola holds."
        )
    return [TempoChange(tick, bpm) for tick, bpm in sorted(by_tick.items())]


def _tidy_bpm(us: int) -> float:
    """The shortest decimal bpm that writes back as the same microseconds per beat.

    A tempo typed as 133.5 bpm is stored as 449438 us; reading it back as 133.5 rather
    than 133.50006 keeps round trips exact and the tempo field readable.
    """
    exact = _MICROSECONDS_PER_MINUTE / us
    for digits in range(6):
        candidate = round(exact, digits)
        if candidate > 0 and round(_MICROSECONDS_PER_MINUTE / candidate) == us:
            return candidate
    return exact


def _time_signature_map(
    tracks: list[_TrackData], last_tick: int, report: list[str]
) -> list[TimeSignature]:
    by_tick: dict[int, tuple[int, int]] = {}
    bad = late = 0
    for tick, numerator, power in sorted(ts for t in tracks for ts in t.time_signatures):
        if not (1 <= numerator <= 64 and power <= 6):
            bad += 1  # corrupt
        elif tick > last_tick:
            late += 1
        else:
            by_tick[tick] = (numerator, 2**power)
    if 0 not in by_tick:
        by_tick[0] = (4, 4)
    if bad:
        report.append(f"Ignored {plural(bad, 'invalid time signature')}.")
    if late:
        report.append(
            f"Left out {plural(late, 'time signature')} after the end of the longest song "
            "Pianola holds."
        )
    return [TimeSignature(tick, n, d) for tick, (n, d) in sorted(by_tick.items())]


def _key_signature_map(
    tracks: list[_TrackData], last_tick: int, report: list[str]
) -> list[KeySignature]:
    by_tick: dict[int, tuple[int, bool]] = {}
    bad = late = 0
    for tick, sf, mode in sorted(k for t in tracks for k in t.keys):
        sharps = sf - 256 if sf > 127 else sf  # a signed byte
        if not (-7 <= sharps <= 7 and mode in (0, 1)):
            bad += 1
        elif tick > last_tick:
            late += 1
        else:
            by_tick[tick] = (sharps, bool(mode))
    if bad:
        report.append(f"Ignored {plural(bad, 'invalid key signature')}.")
    if late:
        report.append(
            f"Left out {plural(late, 'key signature')} after the end of the longest song "
            "Pianola holds."
        )
    return [KeySignature(tick, sharps, minor) for tick, (sharps, minor) in sorted(by_tick.items())]


# ---------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------
def save_midi(song: Song, path: str | os.PathLike[str]) -> None:
    """Write ``song`` as a format-1 MIDI file, atomically (the old file survives a failure)."""
    atomic_write_bytes(path, midi_bytes(song))


def midi_bytes(song: Song) -> bytes:
    """The bytes of a format-1 Standard MIDI File for ``song``.

    Track 1 is the conductor (title, tempos, time signatures); each song track follows
    on its own channel (drums on channel 10). Mute, solo and colours are not MIDI
    concepts and are not written; project files keep them.
    """
    if len(song.tracks) + 1 > 0xFFFF:
        raise MidiExportError(
            f"a MIDI file holds at most 65534 tracks, the song has {len(song.tracks)}"
        )
    chunks = [_conductor_chunk(song)]
    melodic = [c for c in range(16) if c != DRUM_CHANNEL]
    n_melodic = 0
    for track in song.tracks:
        if track.is_drum:
            channel = DRUM_CHANNEL
        else:
            # More than 15 melodic tracks must share channels; readers that split by
            # track (as Pianola does) still keep them apart.
            channel = melodic[n_melodic % len(melodic)]
            n_melodic += 1
        chunks.append(_note_chunk(track, channel))
    header = b"MThd" + struct.pack(">IHHH", 6, 1, len(chunks), song.ticks_per_beat)
    return header + b"".join(chunks)


def encode_vlq(value: int) -> bytes:
    if value > MAX_VLQ:
        raise MidiExportError(f"a time step of {value} ticks is too long for a MIDI file")
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def _meta(meta: int, payload: bytes) -> bytes:
    return bytes((0xFF, meta)) + encode_vlq(len(payload)) + payload


def _chunk(events: list[tuple[int, bytes]]) -> bytes:
    """An MTrk chunk from (tick, event bytes), already in order, plus end of track."""
    body = bytearray()
    tick = 0
    for at, event in events:
        body += encode_vlq(at - tick)
        body += event
        tick = at
    body += b"\x00\xff\x2f\x00"
    return b"MTrk" + struct.pack(">I", len(body)) + bytes(body)


def _conductor_chunk(song: Song) -> bytes:
    events: list[tuple[int, int, bytes]] = [
        (0, 0, _meta(0x03, song.title.encode("utf-8", "replace")))
    ]
    for ts in song.time_signatures:
        power = ts.denominator.bit_length() - 1
        events.append((ts.tick, 1, _meta(0x58, bytes((ts.numerator, power, 24, 8)))))
    for key in song.key_signatures:
        events.append((key.tick, 1, _meta(0x59, bytes((key.sharps & 0xFF, int(key.minor))))))
    for tempo in song.tempos:
        us = min(max(round(_MICROSECONDS_PER_MINUTE / tempo.bpm), 1), 0xFFFFFF)
        events.append((tempo.tick, 2, _meta(0x51, us.to_bytes(3, "big"))))
    events.sort(key=lambda e: (e[0], e[1]))
    return _chunk([(tick, event) for tick, _, event in events])


def _note_chunk(track: Track, channel: int) -> bytes:
    """The MTrk chunk of one track: name, program, then its controllers and notes."""
    # delta 0, track name; delta 0, program change
    head = (
        b"\x00"
        + _meta(0x03, track.name.encode("utf-8", "replace"))
        + b"\x00"
        + bytes((0xC0 | channel, track.program))
    )
    notes, controls = track.notes, track.controllers
    n, m = len(notes), len(controls)
    if not n + m:
        return b"MTrk" + struct.pack(">I", len(head) + 4) + head + b"\x00\xff\x2f\x00"
    # Event table: every note gives an "on" and an "off", every controller one event. At
    # one tick controllers come first (a bend or pedal set before the notes it shapes),
    # then offs, so that a note ending where the next one of that pitch starts stays two
    # notes; then ons.
    bend = controls.number == PITCH_BEND
    value = controls.value.astype(np.int64)
    ticks = np.concatenate([controls.tick, notes.start, notes.start + notes.duration])
    kind = np.concatenate([np.zeros(m, np.int64), np.full(n, 2), np.ones(n, np.int64)])
    status = np.concatenate(
        [
            np.where(bend, 0xE0 | channel, 0xB0 | channel),
            np.full(n, 0x90 | channel),
            np.full(n, 0x80 | channel),
        ]
    )
    first = np.concatenate(
        [np.where(bend, (value + 8192) & 0x7F, controls.number), notes.pitch, notes.pitch]
    ).astype(np.int64)
    second = np.concatenate(
        [np.where(bend, (value + 8192) >> 7, value), notes.velocity, np.full(n, 64)]
    ).astype(np.int64)
    # Readers pair notes of one pitch first-on, first-off, so among notes starting
    # together the one that ends first must start first. Controllers keep their order.
    ends = np.concatenate([np.arange(m), notes.start + notes.duration, np.zeros(n, np.int64)])
    order = np.lexsort((ends, first * (kind > 0), kind, ticks))
    ticks, status, first, second = ticks[order], status[order], first[order], second[order]
    deltas = np.diff(ticks, prepend=0)
    if deltas.max() > MAX_VLQ:
        raise MidiExportError(
            f"track '{track.name}' has a gap of {int(deltas.max())} ticks, too long for MIDI"
        )
    # Vectorised variable-length quantities: 1 to 4 bytes per delta, high groups first.
    size = 1 + (deltas >= 1 << 7) + (deltas >= 1 << 14) + (deltas >= 1 << 21)
    width = size + 3
    offsets = np.cumsum(width) - width
    body = np.zeros(int(width.sum()), dtype=np.uint8)
    for k in range(4):
        has = size > k
        shift = 7 * (size[has] - 1 - k)
        group = (deltas[has] >> shift) & 0x7F
        more = np.where(size[has] - 1 > k, 0x80, 0)
        body[offsets[has] + k] = group | more
    body[offsets + size] = status
    body[offsets + size + 1] = first
    body[offsets + size + 2] = second
    chunk_body = head + body.tobytes() + b"\x00\xff\x2f\x00"
    return b"MTrk" + struct.pack(">I", len(chunk_body)) + chunk_body
