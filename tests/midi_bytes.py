"""Hand-made Standard MIDI File bytes for tests: every byte is written on purpose, so
the nasty cases (running status, velocity-0 note-offs, truncation ...) are exactly the
ones we mean."""

from __future__ import annotations

import struct


def vlq(value: int) -> bytes:
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def header(fmt: int, n_tracks: int, division: int) -> bytes:
    return b"MThd" + struct.pack(">IHHH", 6, fmt, n_tracks, division)


def track(*events: bytes, end: bool = True) -> bytes:
    """An MTrk chunk from events that already carry their delta times."""
    body = b"".join(events) + (b"\x00\xff\x2f\x00" if end else b"")
    return b"MTrk" + struct.pack(">I", len(body)) + body


def smf(fmt: int, division: int, *tracks: bytes) -> bytes:
    return header(fmt, len(tracks), division) + b"".join(tracks)


def ev(delta: int, *data: int) -> bytes:
    return vlq(delta) + bytes(data)


def on(delta: int, pitch: int, velocity: int = 100, channel: int = 0) -> bytes:
    return ev(delta, 0x90 | channel, pitch, velocity)


def off(delta: int, pitch: int, channel: int = 0, velocity: int = 64) -> bytes:
    return ev(delta, 0x80 | channel, pitch, velocity)


def program(delta: int, value: int, channel: int = 0) -> bytes:
    return ev(delta, 0xC0 | channel, value)


def meta(delta: int, kind: int, payload: bytes) -> bytes:
    return vlq(delta) + bytes((0xFF, kind)) + vlq(len(payload)) + payload


def name(delta: int, text: str, encoding: str = "utf-8") -> bytes:
    return meta(delta, 0x03, text.encode(encoding))


def tempo(delta: int, bpm: float) -> bytes:
    return meta(delta, 0x51, round(60_000_000 / bpm).to_bytes(3, "big"))


def time_signature(delta: int, numerator: int, denominator: int) -> bytes:
    return meta(delta, 0x58, bytes((numerator, denominator.bit_length() - 1, 24, 8)))


def cc(delta: int, number: int, value: int, channel: int = 0) -> bytes:
    return ev(delta, 0xB0 | channel, number, value)


def bend(delta: int, value: int, channel: int = 0) -> bytes:
    """Pitch bend, ``value`` in -8192..8191 (0 = centre)."""
    raw = value + 8192
    return ev(delta, 0xE0 | channel, raw & 0x7F, raw >> 7)


def wait(ticks: int) -> bytes:
    """Move time on by any number of ticks: a chain of empty text events of at most the
    largest step one event can take."""
    out = b""
    while ticks > 0:
        step = min(ticks, 0x0FFFFFFF)
        out += meta(step, 0x01, b"")
        ticks -= step
    return out
