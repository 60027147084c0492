"""Optional SoundFont (.sf2/.sf3) rendering through tinysoundfont.

Why tinysoundfont and not pyfluidsynth: tinysoundfont ships self-contained binary
wheels (nothing to install besides `pip install tinysoundfont`, nothing extra for
PyInstaller to find), while pyfluidsynth is a ctypes wrapper that needs the system's
libfluidsynth. Both render faster than real time by far (see the bench table).

A SoundFont synth keeps voices between calls (a sampled note cannot be computed from its
onset time alone), so it renders sequential blocks statefully; when asked for a block
that does not follow the last one (a seek, a loop jump, an edit) it silences every voice
and re-strikes the notes that are sounding at that frame.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from studio.audio.synth import MASTER_GAIN, Synth, TrackMix, default_pan
from studio.core.song import Song

DRUM_CHANNEL = 9
_GAIN_DB = -3.0


class SoundFontError(Exception):
    """The SoundFont could not be used; the message names the file and the reason."""


def tinysoundfont_available() -> bool:
    try:
        import tinysoundfont  # noqa: F401
    except Exception:
        return False
    return True


class SoundFontSynth(Synth):
    """Renders a Song through a SoundFont; same interface as the built-in `Synth`."""

    def __init__(self, path: str | Path, sample_rate: int = 44100) -> None:
        super().__init__(sample_rate)
        self.path = Path(path)
        if not self.path.is_file():
            raise SoundFontError(f"SoundFont {self.path} not found.")
        try:
            from tinysoundfont import _tinysoundfont as tsf
        except Exception as exc:  # not installed / no wheel for this platform
            raise SoundFontError(
                f"SoundFont {self.path.name} needs the 'tinysoundfont' package ({exc})."
            ) from exc
        self._tsf = tsf
        try:
            self._font = tsf.SoundFont(str(self.path))
        except Exception as exc:
            raise SoundFontError(f"SoundFont {self.path.name} cannot be loaded: {exc}") from exc
        self._font.set_output(tsf.OutputMode.StereoInterleaved, self.sample_rate, _GAIN_DB)
        self._font.set_max_voices(512)
        self._preview_font = tsf.SoundFont(str(self.path))
        self._preview_font.set_output(tsf.OutputMode.StereoInterleaved, self.sample_rate, _GAIN_DB)
        self._next_frame: int | None = None
        self._song_id: int | None = None
        self._channels: dict[int, int] = {}

    # -- interface of Synth ------------------------------------------------------------------
    def render(
        self,
        song: Song,
        start_frame: int,
        n_frames: int,
        mix: Mapping[int, TrackMix] | None = None,
        tracks: list[int] | None = None,
    ) -> np.ndarray:
        n_frames = int(n_frames)
        out = np.zeros((max(0, n_frames), 2), dtype=np.float32)
        if n_frames <= 0:
            return out
        indices = song.audible_tracks() if tracks is None else tracks
        fresh = self._next_frame != start_frame or self._song_id != id(song)
        if fresh:
            self._setup(song, indices, mix)
        events = self._events(song, indices, start_frame, n_frames, restrike=fresh)
        position = 0
        for frame, kind, channel, key, velocity in events:
            offset = frame - start_frame
            if offset > position:
                self._font.render(memoryview(out[position:offset]), False)
                position = offset
            if kind == 0:
                self._font.channel_note_off(channel, key)
            else:
                self._font.channel_note_on(channel, key, velocity / 127.0)
        if position < n_frames:
            self._font.render(memoryview(out[position:]), False)
        self._next_frame = start_frame + n_frames
        self._song_id = id(song)
        # Match the built-in synth's level so switching does not jump in loudness.
        out *= np.float32(MASTER_GAIN * 2.5)
        return out

    def warm(self, song: Song) -> None:
        """Nothing to bake: the SoundFont's samples were loaded with the file."""

    def render_note(
        self, program: int, is_drum: bool, pitch: int, velocity: int, seconds: float
    ) -> np.ndarray:
        font = self._preview_font
        font.reset()
        channel = DRUM_CHANNEL if is_drum else 0
        self._select(font, channel, program, is_drum)
        out = np.zeros((int((seconds + 0.5) * self.sample_rate), 2), dtype=np.float32)
        held = int(seconds * self.sample_rate)
        font.channel_note_on(channel, int(pitch), max(1, min(127, velocity)) / 127.0)
        font.render(memoryview(out[:held]), False)
        font.channel_note_off(channel, int(pitch))
        font.render(memoryview(out[held:]), False)
        fade = min(len(out), int(0.05 * self.sample_rate))
        out[len(out) - fade :] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)[:, None]
        return out

    # -- internals -------------------------------------------------------------------------------
    def _select(self, font, channel: int, program: int, is_drum: bool) -> None:
        try:
            font.channel_set_bank(channel, 128 if is_drum else 0)
            font.channel_set_preset_number(channel, int(program), bool(is_drum))
        except Exception:
            # A SoundFont without this preset: fall back to its first one (often a piano).
            font.channel_set_bank(channel, 0)
            font.channel_set_preset_number(channel, 0, bool(is_drum))

    def _setup(self, song: Song, indices: list[int], mix: Mapping[int, TrackMix] | None) -> None:
        # A jump: voices of the old timeline must not ring on into the new one.
        for channel in range(16):
            self._font.channel_sounds_off(channel)
        self._font.reset()
        self._channels = {}
        melodic = [c for c in range(16) if c != DRUM_CHANNEL]
        used = 0
        for index in indices:
            track = song.tracks[index]
            if track.is_drum:
                channel = DRUM_CHANNEL
            else:
                channel = melodic[used % len(melodic)]
                used += 1
            self._channels[index] = channel
            self._select(self._font, channel, track.program, track.is_drum)
            track_mix = (mix or {}).get(index) or TrackMix(pan=default_pan(index, len(song.tracks)))
            self._font.channel_set_pan(channel, (track_mix.pan + 1.0) / 2.0)
            self._font.channel_set_volume(channel, float(track_mix.gain))

    def _events(
        self, song: Song, indices: list[int], start: int, n: int, restrike: bool
    ) -> list[tuple[int, int, int, int, int]]:
        """(frame, 0=off/1=on, channel, key, velocity) in [start, start + n), offs first."""
        events: list[tuple[int, int, int, int, int]] = []
        for index in indices:
            track = song.tracks[index]
            channel = self._channels.get(index)
            if channel is None or not len(track.notes):
                continue
            rows, on, off = self._note_frames(song, track, start, n, 0.0)
            pitch = track.notes.pitch[rows]
            velocity = track.notes.velocity[rows]
            for f_on, f_off, key, vel in zip(
                on.tolist(), off.tolist(), pitch.tolist(), velocity.tolist(), strict=True
            ):
                if start <= f_on < start + n:
                    events.append((f_on, 1, channel, key, vel))
                elif restrike and f_on < start < f_off:
                    events.append((start, 1, channel, key, vel))
                if start <= f_off < start + n:
                    events.append((f_off, 0, channel, key, 0))
        events.sort(key=lambda e: (e[0], e[1]))
        return events


def probe(path: str | Path, sample_rate: int = 44100) -> str:
    """'' if the SoundFont loads and plays a note, else the reason (for Preferences)."""
    try:
        synth = SoundFontSynth(path, sample_rate)
        note = synth.render_note(0, False, 60, 100, 0.1)
    except SoundFontError as exc:
        return str(exc)
    if not np.abs(note).max() > 0:
        return f"SoundFont {Path(path).name} plays silence for a piano note."
    return ""
