"""Standard MIDI File import and export, exact to the tick.

Why not read through pretty_midi's objects: pretty_midi turns ticks into seconds (a
round trip then drifts by a tick), drops notes that are never switched off, and ends
every overlapping note of one pitch at the first note-off. A composer's file must come
back as it went in, so this module reads and writes the Standard MIDI File format
itself, in ticks, with these rules:

* Notes are paired first-on, first-off per channel and pitch, so overlapping notes of
  one pitch keep their own starts, and a file that writes "note-on, then the previous
  note's note-off" at one tick reads as two notes, not one note of zero length.
* A note-on with velocity 0 is a note-off. A zero-length note lasts one tick. A note
  never switched off lasts until the file ends (as it would sound on a synth).
* Each (file track, channel) pair becomes one `Track`; channel 10 is the drum channel.
  A track's program is the program change in force at its first note.
* The first track of a multi-track file that holds no channel events is the conductor
  track: its name is the song title; tempo and time-signature changes are read from
  every track.

Bad input never escapes as a library error or a hang: every problem becomes a
`MidiImportError` naming the file and the reason, and files too large to be music
written by a person are refused before they are parsed.
"""

from __future__ import annotations

import os
import struct
from array import array
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from studio.core.atomic import atomic_write_bytes
from studio.core.gm import DRUM_CHANNEL, program_name
from studio.core.song import (
    MIDI_MAX,
    Notes,
    Song,
    TempoChange,
    TimeSignature,
    Track,
    palette_colour,
)

# Limits against absurd files: the largest real scores are far below these, and beyond
# them a pure-Python parse would take long enough to look like a hang.
MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_NOTES = 3_000_000
MAX_TRACKS = 1024  # tracks of the resulting song (file tracks x channels)
MAX_BEATS = 200_000  # about 28 hours at 120 bpm; beyond, rolls and views would explode
MAX_TICK = 2**31 - 1
MAX_VLQ = 0x0FFFFFFF  # largest value a 4-byte variable-length quantity holds

_SLOTS = 16 * 128  # (channel, pitch) pairs
_TICK_DTYPE = np.dtype(f"u{array('I').itemsize}")  # ticks are stored as C unsigned ints

MIDI_DEFAULT_BPM = 120.0  # what a MIDI file means when it states no tempo
MIN_BPM, MAX_BPM = 1.0, 999.0
_MICROSECONDS_PER_MINUTE = 60_000_000


class MidiImportError(Exception):
    """A MIDI file could not be read. The message names the file and the reason."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"Cannot read MIDI file '{self.path}': {reason}")


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
    path = Path(path)
    try:
        if path.is_dir():
            raise MidiImportError(path, "it is a folder, not a file")
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise MidiImportError(
                path,
                f"the file is too large ({size / 2**20:.1f} MiB; "
                f"the limit is {MAX_FILE_BYTES // 2**20} MiB)",
            )
        data = path.read_bytes()
    except FileNotFoundError:
        raise MidiImportError(path, "the file does not exist") from None
    except PermissionError:
        raise MidiImportError(path, "permission denied") from None
    except OSError as exc:
        raise MidiImportError(path, f"the file cannot be read ({exc.strerror or exc})") from None
    return parse_midi(data, path, default_title=path.stem)


def parse_midi(
    data: bytes, source: str | os.PathLike[str] = "<bytes>", default_title: str = "Untitled"
) -> Song:
    """Parse the bytes of a MIDI file; ``source`` names it in error messages."""
    if len(data) > MAX_FILE_BYTES:
        raise MidiImportError(source, f"the data is too large ({len(data) / 2**20:.1f} MiB)")
    try:
        return _parse(bytes(data), default_title)
    except _Malformed as exc:
        raise MidiImportError(source, str(exc)) from None
    except (IndexError, ValueError, struct.error, OverflowError, MemoryError) as exc:
        # A check above should have caught this; still, never leak a raw exception.
        raise MidiImportError(source, f"the file is malformed ({exc})") from None


@dataclass
class _TrackData:
    """What one MTrk chunk contributes. Note events are kept as compact typed arrays
    (a few bytes each) and paired with numpy once the chunk is read, so memory stays a
    small multiple of the file's size and pairing is linear."""

    name: str | None = None
    instrument: str | None = None
    end_tick: int = 0
    channel_events: bool = False
    # note-ons in file order: tick, slot (channel * 128 + pitch), velocity
    on_tick: array = field(default_factory=lambda: array("I"))
    on_slot: array = field(default_factory=lambda: array("H"))
    on_velocity: array = field(default_factory=lambda: array("B"))
    # note-offs that end a sounding note, in file order: tick, slot
    off_tick: array = field(default_factory=lambda: array("I"))
    off_slot: array = field(default_factory=lambda: array("H"))
    programs: list[tuple[int, int, int]] = field(default_factory=list)  # (tick, channel, program)
    tempos: list[tuple[int, int]] = field(default_factory=list)  # (tick, microseconds per beat)
    time_signatures: list[tuple[int, int, int]] = field(default_factory=list)  # (tick, num, den)

    @property
    def n_notes(self) -> int:
        return len(self.on_tick)

    def paired_notes(self, file_end: int) -> tuple[np.ndarray, ...]:
        """(channel, pitch, start, end, velocity) with notes paired first-on, first-off per
        channel and pitch; a note never switched off ends at ``file_end``."""
        slot = np.frombuffer(self.on_slot, dtype=np.uint16).astype(np.int64)
        start = np.frombuffer(self.on_tick, dtype=_TICK_DTYPE).astype(np.int64)
        off_slot = np.frombuffer(self.off_slot, dtype=np.uint16).astype(np.int64)
        off_tick = np.frombuffer(self.off_tick, dtype=_TICK_DTYPE).astype(np.int64)
        # The k-th note-on of a slot pairs with the k-th note-off of that slot (only
        # note-offs that ended a sounding note were recorded, so there are never more).
        on_order = np.argsort(slot, kind="stable")
        off_order = np.argsort(off_slot, kind="stable")
        on_count = np.bincount(slot, minlength=_SLOTS)
        off_count = np.bincount(off_slot, minlength=_SLOTS)
        on_first = np.cumsum(on_count) - on_count
        off_first = np.cumsum(off_count) - off_count
        sorted_slot = slot[on_order]
        rank = np.arange(len(slot)) - on_first[sorted_slot]
        ended = rank < off_count[sorted_slot]
        end = np.full(len(slot), file_end, dtype=np.int64)
        end[on_order[ended]] = off_tick[off_order[off_first[sorted_slot[ended]] + rank[ended]]]
        velocity = np.frombuffer(self.on_velocity, dtype=np.uint8).astype(np.int64)
        return slot >> 7, slot & 0x7F, start, end, velocity


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


def _parse(data: bytes, default_title: str) -> Song:
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
    pos = 8 + header_len
    notes_so_far = 0
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
            track = _parse_track(data, body, body + length, len(tracks) + 1, notes_so_far)
            notes_so_far += track.n_notes
            tracks.append(track)
        # Chunks of other types are skipped, as the standard asks of readers.
        pos = body + length
    return _build_song(tracks, division, default_title)


def _parse_track(data: bytes, pos: int, end: int, number: int, notes_before: int) -> _TrackData:
    """Decode one MTrk chunk. A tight loop over bytes: this is the hot path of loading."""
    out = _TrackData()
    on_tick, on_slot, on_velocity = out.on_tick.append, out.on_slot.append, out.on_velocity.append
    off_tick, off_slot = out.off_tick.append, out.off_slot.append
    sounding = [0] * _SLOTS  # notes on and not yet off, per channel*128+pitch
    notes_left = MAX_NOTES - notes_before
    tick = 0
    running = 0
    where = f"track {number}"
    while pos < end:
        # delta time: a variable-length quantity of at most 4 bytes
        byte = data[pos]
        pos += 1
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
        if tick > MAX_TICK:
            raise _Malformed(f"{where} has events beyond tick {MAX_TICK}")
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

        if status < 0xF0:
            kind = status & 0xF0
            channel = status & 0x0F
            out.channel_events = True
            if kind == 0xC0 or kind == 0xD0:
                if pos >= end:
                    raise _Malformed(f"{where} is truncated inside an event")
                value = data[pos]
                pos += 1
                if value > MIDI_MAX:
                    raise _Malformed(f"{where} has an invalid data byte 0x{value:02x}")
                if kind == 0xC0:
                    out.programs.append((tick, channel, value))
                continue
            if pos + 2 > end:
                raise _Malformed(f"{where} is truncated inside an event")
            key, value = data[pos], data[pos + 1]
            pos += 2
            if (key | value) > MIDI_MAX:
                raise _Malformed(f"{where} has an invalid data byte in an event")
            if kind == 0x90 and value:
                slot = (channel << 7) | key
                notes_left -= 1
                if notes_left < 0:
                    raise _Malformed(f"it has more than {MAX_NOTES:,} notes")
                on_tick(tick)
                on_slot(slot)
                on_velocity(value)
                sounding[slot] += 1
            elif kind == 0x80 or kind == 0x90:
                slot = (channel << 7) | key
                if sounding[slot]:  # a note-off for a note that is not on is ignored
                    sounding[slot] -= 1
                    off_tick(tick)
                    off_slot(slot)
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
            elif meta == 0x03 and out.name is None:
                out.name = _decode_text(payload)
            elif meta == 0x04 and out.instrument is None:
                out.instrument = _decode_text(payload)
        elif status == 0xF0 or status == 0xF7:
            length, pos = _read_vlq(data, pos, end, where)
            if pos + length > end:
                raise _Malformed(f"{where} is truncated inside a system-exclusive message")
            pos += length
        else:
            raise _Malformed(f"{where} has an unexpected status byte 0x{status:02x}")

    out.end_tick = tick
    return out


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


def _build_song(tracks: list[_TrackData], ticks_per_beat: int, default_title: str) -> Song:
    tempos = _tempo_map(tracks)
    time_signatures = _time_signature_map(tracks)

    title = default_title
    first = tracks[0]
    conductor = len(tracks) > 1 and not first.channel_events
    if (conductor or len(tracks) == 1) and first.name:
        title = first.name

    file_end = max(t.end_tick for t in tracks)
    all_programs = sorted(p for t in tracks for p in t.programs)
    channels_with_notes = {
        int(c) for t in tracks for c in np.unique(np.frombuffer(t.on_slot, np.uint16) >> 7)
    }
    song_tracks: list[Track] = []
    for data in tracks:
        if not data.n_notes:
            # A named track with a program change but no notes is an empty part worth
            # keeping (Pianola writes one for an empty track). A nameless one that only
            # sets up a channel whose notes live elsewhere, or a conductor track, is not.
            for channel in sorted({c for _, c, _ in data.programs}):
                if data.name is None and channel in channels_with_notes:
                    continue
                program = _program_at(data.programs, all_programs, channel, 0)
                song_tracks.append(
                    _make_track(data, channel, program, Notes(), 1, len(song_tracks))
                )
            continue
        channels, pitch, start, end, velocity = data.paired_notes(file_end)
        duration = np.maximum(end - start, 1)
        used = np.unique(channels)
        if len(song_tracks) + len(used) > MAX_TRACKS:
            raise _Malformed(f"it would make more than {MAX_TRACKS} tracks")
        for channel in used:
            rows = np.nonzero(channels == channel)[0] if len(used) > 1 else slice(None)
            notes = Notes(pitch[rows], start[rows], duration[rows], velocity[rows], validate=False)
            program = _program_at(data.programs, all_programs, int(channel), int(notes.start[0]))
            song_tracks.append(
                _make_track(data, int(channel), program, notes, len(used), len(song_tracks))
            )
    song = Song(title, ticks_per_beat, tempos, time_signatures, song_tracks)
    if song.end_tick > MAX_BEATS * ticks_per_beat:
        raise _Malformed(f"its notes run for more than {MAX_BEATS:,} beats")
    return song


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


def _tempo_map(tracks: list[_TrackData]) -> list[TempoChange]:
    events = sorted((tick, us) for t in tracks for tick, us in t.tempos if us > 0)
    by_tick: dict[int, float] = {}
    for tick, us in events:
        bpm = _tidy_bpm(us)
        # Tempos outside what the song model holds (nearly always tricks) are clamped.
        by_tick[tick] = min(max(bpm, MIN_BPM), MAX_BPM)
    if 0 not in by_tick:
        by_tick[0] = MIDI_DEFAULT_BPM
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


def _time_signature_map(tracks: list[_TrackData]) -> list[TimeSignature]:
    by_tick: dict[int, tuple[int, int]] = {}
    for tick, numerator, power in sorted(ts for t in tracks for ts in t.time_signatures):
        if 1 <= numerator <= 64 and power <= 6:  # others are corrupt; ignore them
            by_tick[tick] = (numerator, 2**power)
    if 0 not in by_tick:
        by_tick[0] = (4, 4)
    return [TimeSignature(tick, n, d) for tick, (n, d) in sorted(by_tick.items())]


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


def _vlq(value: int) -> bytes:
    if value > MAX_VLQ:
        raise MidiExportError(f"a time step of {value} ticks is too long for a MIDI file")
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def _meta(meta: int, payload: bytes) -> bytes:
    return bytes((0xFF, meta)) + _vlq(len(payload)) + payload


def _chunk(events: list[tuple[int, bytes]]) -> bytes:
    """An MTrk chunk from (tick, event bytes), already in order, plus end of track."""
    body = bytearray()
    tick = 0
    for at, event in events:
        body += _vlq(at - tick)
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
    for tempo in song.tempos:
        us = min(max(round(_MICROSECONDS_PER_MINUTE / tempo.bpm), 1), 0xFFFFFF)
        events.append((tempo.tick, 2, _meta(0x51, us.to_bytes(3, "big"))))
    events.sort(key=lambda e: (e[0], e[1]))
    return _chunk([(tick, event) for tick, _, event in events])


def _note_chunk(track: Track, channel: int) -> bytes:
    # delta 0, track name; delta 0, program change
    head = (
        b"\x00"
        + _meta(0x03, track.name.encode("utf-8", "replace"))
        + b"\x00"
        + bytes((0xC0 | channel, track.program))
    )
    notes = track.notes
    n = len(notes)
    if not n:
        return b"MTrk" + struct.pack(">I", len(head) + 4) + head + b"\x00\xff\x2f\x00"
    # Event table: every note gives an "on" and an "off"; at one tick offs come first so
    # that a note ending where the next one of that pitch starts stays two notes.
    ticks = np.concatenate([notes.start, notes.start + notes.duration])
    is_on = np.concatenate([np.ones(n, np.int64), np.zeros(n, np.int64)])
    pitch = np.concatenate([notes.pitch, notes.pitch]).astype(np.int64)
    velocity = np.concatenate([notes.velocity, np.full(n, 64)]).astype(np.int64)
    # Readers pair notes of one pitch first-on, first-off, so among notes starting
    # together the one that ends first must start first.
    ends = np.concatenate([notes.start + notes.duration, np.zeros(n, np.int64)])
    order = np.lexsort((ends, pitch, is_on, ticks))
    ticks, is_on, pitch, velocity = ticks[order], is_on[order], pitch[order], velocity[order]
    deltas = np.diff(ticks, prepend=0)
    if deltas.max() > MAX_VLQ:
        raise MidiExportError(
            f"track '{track.name}' has a gap of {int(deltas.max())} ticks, too long for MIDI"
        )
    status = np.where(is_on == 1, 0x90 | channel, 0x80 | channel)
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
    body[offsets + size + 1] = pitch
    body[offsets + size + 2] = velocity
    chunk_body = head + body.tobytes() + b"\x00\xff\x2f\x00"
    return b"MTrk" + struct.pack(">I", len(chunk_body)) + chunk_body
