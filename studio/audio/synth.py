"""The built-in synthesizer: renders any time range of a Song to float32 stereo.

Rendering is a pure function of absolute time: a note's phase and envelope depend only
on how many samples have passed since its onset, so consecutive blocks join without a
seam and the transport can re-render from any frame after an edit. Within a block all
samples of all notes of a track are computed at once: the notes' sample spans are laid
end to end in one array (numpy `repeat`), looked up in per-pitch wavetables, shaped by
the envelope and scatter-added into the block with `bincount`. No Python loop runs per
note or per sample.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from studio.audio.drums import DrumKit, drum_kit
from studio.audio.instruments import TABLE_SIZE, Voice, midi_to_hz, voice_for_program, voice_tables
from studio.core.song import EXPRESSION, VOLUME, Note, Notes, Song, Track

SAMPLE_RATES = (44100, 48000)
MASTER_GAIN = 0.32  # one forte note peaks near 0.3: a four-part chorale stays below 1
LIMIT_CEILING = 0.98
_CHUNK = 1 << 15  # samples per vectorised pass: bounds memory for dense chords
_ROW = TABLE_SIZE + 1


@dataclass(frozen=True)
class TrackMix:
    """A track's level and stereo position in the mix."""

    gain: float = 1.0  # linear
    pan: float = 0.0  # -1 left .. +1 right

    def __post_init__(self) -> None:
        if not (np.isfinite(self.gain) and 0.0 <= self.gain <= 4.0):
            raise ValueError(f"track gain must be between 0 and 4, got {self.gain!r}")
        if not (np.isfinite(self.pan) and -1.0 <= self.pan <= 1.0):
            raise ValueError(f"track pan must be between -1 and 1, got {self.pan!r}")


def default_pan(index: int, n_tracks: int) -> float:
    """Spread tracks gently across the stereo field (a choir's S-A-T-B seating)."""
    if n_tracks <= 1:
        return 0.0
    return round(-0.4 + 0.8 * index / (n_tracks - 1), 3)


def pan_gains(pan: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Constant-power pan law, normalised so that centre is unity on both sides."""
    angle = (np.asarray(pan, dtype=np.float64) + 1.0) * (np.pi / 4.0)
    return np.cos(angle) * np.sqrt(2.0), np.sin(angle) * np.sqrt(2.0)


def velocity_gain(velocity: np.ndarray) -> np.ndarray:
    """MIDI velocity to amplitude: about 40 dB from pp to fff, like a real piano."""
    v = np.asarray(velocity, dtype=np.float64) / 127.0
    return v**2.0


def check_sample_rate(sample_rate: int) -> int:
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)):
        raise ValueError(f"sample rate must be an integer, got {sample_rate!r}")
    if not 8000 <= int(sample_rate) <= 192000:
        raise ValueError(f"sample rate must be between 8000 and 192000 Hz, got {sample_rate}")
    return int(sample_rate)


def voice_for_track(track: Track) -> Voice | None:
    """The melodic voice of a track (None for drum tracks)."""
    return None if track.is_drum else voice_for_program(track.program)


def track_tail_seconds(track: Track, sample_rate: int) -> float:
    """How long a track can keep sounding after its last note-off."""
    if track.is_drum:
        return drum_kit(sample_rate).longest / sample_rate
    voice = voice_for_track(track)
    return voice.tail if voice is not None else 0.0


def song_tail_seconds(song: Song, sample_rate: int) -> float:
    """How long the song sounds after its last note ends: the longest release, plus the
    time a sustain pedal holds notes past that end."""
    release = max((track_tail_seconds(t, sample_rate) for t in song.tracks), default=0.0)
    end = song.end_tick
    held = max(
        (int(sustained_ends(t.notes, _sustain_spans(t, end)).max()) for t in song.tracks
         if len(t.notes) and not t.is_drum),
        default=end,
    )  # fmt: skip
    overhang = float(song.tick_to_seconds(held)) - float(song.tick_to_seconds(end))
    return release + max(overhang, 0.0)


LEVEL_RAMP_SECONDS = 0.005  # a level change glides this long: no zipper clicks
# Controllers that scale a track's level, with the value at which they leave it as is
# (General MIDI resets volume to 100 and expression to 127).
LEVEL_CONTROLLERS = ((VOLUME, 100), (EXPRESSION, 127))


def has_level_automation(track: Track) -> bool:
    numbers = track.controllers.number
    return bool(len(numbers)) and bool(np.isin(numbers, (VOLUME, EXPRESSION)).any())


def level_curve(song: Song, track: Track, start: int, n: int, sample_rate: int) -> np.ndarray:
    """Gain of frames [start, start + n) from the track's volume (CC7) and expression
    (CC11), as General MIDI reads them: amplitude (value / reference) squared, about
    40 dB over the range. A pure function of absolute time (each change ramps from the
    previous value over 5 ms), so blocks join without a seam.
    """
    frames = np.arange(start, start + n, dtype=np.float64)
    gain = np.ones(n, dtype=np.float64)
    ramp = LEVEL_RAMP_SECONDS * sample_rate
    for number, reference in LEVEL_CONTROLLERS:
        lane = track.controllers.of(number)
        if not len(lane):
            continue
        at = np.asarray(song.tick_to_seconds(lane.tick), dtype=np.float64).reshape(-1)
        at *= sample_rate
        level = (lane.value.astype(np.float64) / reference) ** 2
        before = np.concatenate([[1.0], level[:-1]])  # the level each change starts from
        k = np.searchsorted(at, frames, side="right") - 1
        inside = k >= 0
        k_safe = np.maximum(k, 0)
        share = np.clip((frames - at[k_safe]) / ramp, 0.0, 1.0)
        value = before[k_safe] + (level[k_safe] - before[k_safe]) * share
        gain *= np.where(inside, value, 1.0)
    return gain.astype(np.float32)


def _sustain_spans(track: Track, end_tick: int) -> np.ndarray:
    """The track's pedal-down spans, [k, 2] ticks (a pedal never lifted: to ``end_tick``)."""
    return track.controllers.sustain_spans(end_tick)


def sustained_ends(notes: Notes, spans: np.ndarray) -> np.ndarray:
    """Note-off ticks under the sustain pedal (CC64 >= 64 is down).

    A note released while the pedal is down keeps sounding until the pedal is lifted,
    as on a piano, unless the same key is struck again first: then it stops at that
    onset (a piano's damper would re-strike the string, and an ever-growing pile of
    copies of one pitch only muddies the sound). ``spans`` are the pedal's (down, up)
    ticks, sorted and disjoint.
    """
    ends = notes.start + notes.duration
    if not len(notes) or not len(spans):
        return ends
    downs, ups = spans[:, 0], spans[:, 1]
    k = np.searchsorted(downs, ends, side="right") - 1
    k_safe = np.maximum(k, 0)
    inside = (k >= 0) & (ends < ups[k_safe])
    if not inside.any():
        return ends
    order = np.lexsort((notes.start, notes.pitch))
    pitch, start = notes.pitch[order], notes.start[order]
    following = np.full(len(order), np.iinfo(np.int64).max, dtype=np.int64)
    same = pitch[1:] == pitch[:-1]
    following[:-1][same] = start[1:][same]
    next_onset = np.empty_like(following)
    next_onset[order] = following
    held = np.maximum(ends, np.minimum(ups[k_safe], next_onset))
    return np.where(inside, held, ends)


@dataclass(frozen=True)
class _NoteFrames:
    notes: Notes  # kept so that the id() in the cache key cannot be reused
    controllers: object  # likewise (the sustain pedal moves note-offs)
    on: np.ndarray
    off: np.ndarray
    longest: int


class Synth:
    """Renders blocks of a Song. Holds only caches, so it is safe to share read-only."""

    def __init__(self, sample_rate: int = 44100) -> None:
        self.sample_rate = check_sample_rate(sample_rate)
        self._frame_cache: dict[tuple, _NoteFrames] = {}

    # -- public -----------------------------------------------------------------------
    def render(
        self,
        song: Song,
        start_frame: int,
        n_frames: int,
        mix: Mapping[int, TrackMix] | None = None,
        tracks: list[int] | None = None,
    ) -> np.ndarray:
        """Frames [start_frame, start_frame + n_frames) of the song, float32 ``[n, 2]``.

        Not limited: feed consecutive blocks through a `Limiter` for playback/export.
        `tracks` defaults to the audible tracks (mute/solo honoured).
        """
        n_frames = int(n_frames)
        if n_frames < 0:
            raise ValueError(f"n_frames must be >= 0, got {n_frames}")
        out = np.zeros((2, n_frames), dtype=np.float32)  # channel-major: contiguous adds
        if n_frames == 0:
            return out.T.copy()
        indices = song.audible_tracks() if tracks is None else tracks
        # Tracks that share a voice are rendered in one vectorised pass: numpy's per-call
        # overhead, not arithmetic, dominates small blocks of a four-part chorale.
        by_voice: dict[Voice, list[tuple[Track, TrackMix]]] = {}
        for index in indices:
            track = song.tracks[index]
            if not len(track.notes):
                continue
            track_mix = (mix or {}).get(index) or TrackMix(pan=default_pan(index, len(song.tracks)))
            if track_mix.gain <= 0.0:
                continue
            if has_level_automation(track):
                # Volume/expression curves apply to this track alone: render it apart.
                own = np.zeros_like(out)
                if track.is_drum:
                    self._render_drum_track(song, track, track_mix, int(start_frame), n_frames,
                                            own)  # fmt: skip
                else:
                    voice = voice_for_program(track.program)
                    self._render_voice_group(song, voice, [(track, track_mix)], int(start_frame),
                                             n_frames, own)  # fmt: skip
                own *= level_curve(song, track, int(start_frame), n_frames, self.sample_rate)
                out += own
            elif track.is_drum:
                self._render_drum_track(song, track, track_mix, int(start_frame), n_frames, out)
            else:
                by_voice.setdefault(voice_for_program(track.program), []).append((track, track_mix))
        for voice, members in by_voice.items():
            self._render_voice_group(song, voice, members, int(start_frame), n_frames, out)
        out *= np.float32(MASTER_GAIN)
        return np.ascontiguousarray(out.T)

    def warm(self, song: Song) -> None:
        """Build the wavetables, drum kit and note-frame caches the song will need."""
        for track in song.tracks:
            if track.is_drum:
                drum_kit(self.sample_rate)
            else:
                voice_tables(voice_for_program(track.program), self.sample_rate)
            if len(track.notes):
                self._frames_of(song, track)

    def render_note(
        self, program: int, is_drum: bool, pitch: int, velocity: int, seconds: float
    ) -> np.ndarray:
        """A single note (pitch preview), released after `seconds`, tail included."""
        track = Track("preview", program=program, is_drum=is_drum)
        bpm = 120.0
        ticks = max(1, round(seconds * bpm / 60.0 * 480))
        track.notes = Notes.from_notes([Note(pitch, 0, ticks, velocity)])
        song = Song("preview", tracks=[track])
        total = int((seconds + track_tail_seconds(track, self.sample_rate)) * self.sample_rate)
        if is_drum:
            total = min(total, int(seconds * self.sample_rate) + int(0.05 * self.sample_rate))
            block = self.render(song, 0, total, {0: TrackMix()})
            fade = min(len(block), int(0.05 * self.sample_rate))
            block[len(block) - fade :] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)[:, None]
            return block
        return self.render(song, 0, total, {0: TrackMix()})

    # -- per track ----------------------------------------------------------------------
    def _note_frames(
        self, song: Song, track: Track, start: int, n: int, tail: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rows of the notes that sound in the block, with onset and note-off frames."""
        frames = self._frames_of(song, track)
        tail_frames = int(np.ceil(tail * self.sample_rate)) + 1
        lo = int(np.searchsorted(frames.on, start - tail_frames - frames.longest, side="left"))
        hi = int(np.searchsorted(frames.on, start + n, side="left"))
        if hi <= lo:
            empty = np.empty(0, dtype=np.int64)
            return empty, empty, empty
        on = frames.on[lo:hi]
        off = frames.off[lo:hi]
        sounding = np.nonzero(off + tail_frames > start)[0]
        return sounding + lo, on[sounding], off[sounding]

    def _frames_of(self, song: Song, track: Track) -> _NoteFrames:
        """Onset/note-off frames of a track's notes, the sustain pedal applied, cached:
        notes and controllers are immutable blocks, so only a new block or a tempo change
        needs the tempo map again."""
        notes, controllers = track.notes, track.controllers
        key = (id(notes), id(controllers), song.ticks_per_beat, tuple(song.tempos))
        cached = self._frame_cache.get(key)
        if cached is not None and cached.notes is notes and cached.controllers is controllers:
            return cached
        sr = self.sample_rate
        on = np.round(np.asarray(song.tick_to_seconds(notes.start)) * sr).astype(np.int64)
        if track.is_drum:  # drums ignore the pedal: a hit plays its whole sample anyway
            ends = notes.start + notes.duration
        else:
            ends = sustained_ends(notes, _sustain_spans(track, int(notes.end)))
        off = np.round(np.asarray(song.tick_to_seconds(ends)) * sr).astype(np.int64)
        off = np.maximum(off, on + 1)
        longest = int((off - on).max()) if len(on) else 0
        frames = _NoteFrames(notes, controllers, on, off, longest)
        if len(self._frame_cache) > 256:
            self._frame_cache.clear()
        self._frame_cache[key] = frames
        return frames

    def _render_drum_track(
        self, song: Song, track: Track, mix: TrackMix, start: int, n: int, out: np.ndarray
    ) -> None:
        gain_l, gain_r = pan_gains(mix.pan)
        kit = drum_kit(self.sample_rate)
        tail = kit.longest / self.sample_rate
        rows, on, _off = self._note_frames(song, track, start, n, tail)
        if len(rows):
            self._render_drums(track, kit, rows, on, start, n, mix.gain, gain_l, gain_r, out)

    def _render_voice_group(
        self,
        song: Song,
        voice: Voice,
        members: list[tuple[Track, TrackMix]],
        start: int,
        n: int,
        out: np.ndarray,
    ) -> None:
        parts: list[tuple[np.ndarray, ...]] = []
        for track, mix in members:
            rows, on, off = self._note_frames(song, track, start, n, voice.tail)
            if not len(rows):
                continue
            gain_l, gain_r = pan_gains(mix.pan)
            amp = velocity_gain(track.notes.velocity[rows]) * (voice.gain * mix.gain)
            parts.append(
                (
                    track.notes.pitch[rows].astype(np.int64),
                    amp,
                    on,
                    off,
                    np.full(len(rows), gain_l),
                    np.full(len(rows), gain_r),
                )
            )
        if not parts:
            return
        pitch, amp, on, off, gain_l, gain_r = (
            np.concatenate(column) if len(parts) > 1 else column[0]
            for column in zip(*parts, strict=True)
        )
        end = off + int(np.ceil(voice.release * self.sample_rate))
        seg_start = np.maximum(on, start)
        seg_end = np.minimum(end, start + n)
        keep = np.nonzero(seg_end > seg_start)[0]
        if not len(keep):
            return
        pitch, amp, on, off, gain_l, gain_r, seg_start, seg_end = (
            a[keep] for a in (pitch, amp, on, off, gain_l, gain_r, seg_start, seg_end)
        )
        lengths = seg_end - seg_start
        for group in _chunks(lengths):
            self._render_voice(
                voice,
                pitch[group],
                amp[group],
                on[group],
                off[group],
                seg_start[group],
                lengths[group],
                start,
                gain_l[group],
                gain_r[group],
                out,
            )

    def _render_voice(
        self,
        voice: Voice,
        pitch: np.ndarray,
        amp: np.ndarray,
        on: np.ndarray,
        off: np.ndarray,
        seg_start: np.ndarray,
        lengths: np.ndarray,
        block_start: int,
        gain_l: np.ndarray,
        gain_r: np.ndarray,
        out: np.ndarray,
    ) -> None:
        sr = self.sample_rate
        f32 = np.float32
        tables = voice_tables(voice, sr)
        total = int(lengths.sum())
        note = np.repeat(np.arange(len(lengths)), lengths)
        first = np.cumsum(lengths) - lengths  # where each note's span begins in `note`
        t_samples = np.arange(total, dtype=np.int64)  # becomes: samples since onset
        t_samples += np.repeat(seg_start - on - first, lengths)
        t = t_samples.astype(f32)
        t *= f32(1.0 / sr)

        # Envelope, as a function of time since onset frozen at note-off, times a release
        # that reaches exactly zero: continuous everywhere, so no clicks.
        held = ((off - on) / sr).astype(f32)
        t_held = np.minimum(t, held[note])
        env = np.minimum(t_held * f32(1.0 / voice.attack), f32(1.0))
        if voice.sustain < 1.0 or voice.slow_decay < 1e8:
            scale = np.ones(len(pitch))
            if voice.pitch_decay_octaves > 0:
                scale = 2.0 ** (-(pitch - 60) / (12.0 * voice.pitch_decay_octaves))
            fast = np.exp(t_held * (-1.0 / (voice.decay * scale)).astype(f32)[note])
            fast *= f32(1.0 - voice.sustain)
            if voice.slow_decay < 1e8:
                rate = (-1.0 / (voice.slow_decay * scale)).astype(f32)
                fast += np.exp(t_held * rate[note]) * f32(voice.sustain)
            else:
                fast += f32(voice.sustain)
            env *= fast
        released = t - t_held
        released *= f32(1.0 / voice.release)
        np.minimum(released, f32(1.0), out=released)
        released -= f32(1.0)
        released *= released
        env *= released

        # Phase: float64 while it counts many cycles, float32 once wrapped to [0, 1).
        hz = np.asarray(midi_to_hz(pitch))
        phase64 = t_samples * (hz / sr)[note]
        phase64 -= np.floor(phase64)
        phase = phase64.astype(f32)
        phase *= f32(TABLE_SIZE)
        del phase64
        if voice.vibrato_cents > 0:
            # Phase modulation equivalent to a sine vibrato of +-cents, fading in; each
            # note gets its own vibrato phase so a chord does not wobble in lockstep.
            depth = voice.vibrato_cents / 1200.0 * np.log(2.0)
            index = (depth * hz / voice.vibrato_hz / (2 * np.pi) * TABLE_SIZE).astype(f32)
            vibrato = np.minimum(t * f32(1.0 / max(voice.vibrato_delay, 1e-3)), f32(1.0))
            vibrato *= index[note]
            angle = t * f32(2 * np.pi * voice.vibrato_hz)
            angle += (pitch * 0.7).astype(f32)[note]
            vibrato *= np.sin(angle)
            phase += vibrato
        # Detuned oscillators drift from the main phase by t * hz * (ratio - 1) cycles:
        # small numbers, exact enough in float32.
        cycles = None
        if any(voice.detune_cents):
            cycles = t * (hz * TABLE_SIZE).astype(f32)[note]
        base = (pitch * _ROW)[note]
        bright = None
        if tables.bright_extra is not None:
            bright = np.exp(t * f32(-1.0 / voice.bright_decay))

        left = np.zeros(total, dtype=f32)
        right = np.zeros(total, dtype=f32)
        for k, (cents, pan) in enumerate(zip(voice.detune_cents, voice.osc_pan, strict=True)):
            # +2 tables keeps the position positive under vibrato; 0.1 k: own start phase.
            position = phase + f32(TABLE_SIZE * (2 + 0.1 * k))
            if cents and cycles is not None:
                position += cycles * f32(2.0 ** (cents / 1200.0) - 1.0)
            whole = position.astype(np.int64)
            part = position - whole.astype(f32)
            whole &= TABLE_SIZE - 1
            whole += base
            wave = tables.main_slope[whole]
            wave *= part
            wave += tables.main[whole]
            if bright is not None:
                extra = tables.bright_slope[whole]
                extra *= part
                extra += tables.bright_extra[whole]
                extra *= bright
                wave += extra
            pl, pr = pan_gains(pan)
            left += wave * f32(pl)
            right += wave * f32(pr)
        left *= env
        right *= env
        # Velocity, track gain and pan are constant per note: applied per note span while
        # mixing, not by gathering them out to every sample.
        scale = amp * (1.0 / len(voice.detune_cents))
        _mix_segments(out, seg_start - block_start, lengths, left, right, scale * gain_l,
                      scale * gain_r)  # fmt: skip

    def _render_drums(
        self,
        track: Track,
        kit: DrumKit,
        rows: np.ndarray,
        on: np.ndarray,
        start: int,
        n: int,
        gain: float,
        gain_l: float,
        gain_r: float,
        out: np.ndarray,
    ) -> None:
        keys = track.notes.pitch[rows].astype(np.int64)
        end = on + kit.length[keys]
        seg_start = np.maximum(on, start)
        seg_end = np.minimum(end, start + n)
        keep = seg_end > seg_start
        keys, on, seg_start, seg_end, rows = (a[keep] for a in (keys, on, seg_start, seg_end, rows))
        lengths = seg_end - seg_start
        amp = velocity_gain(track.notes.velocity[rows]) * gain * 1.1
        hit_l, hit_r = pan_gains(kit.pan[keys])
        for group in _chunks(lengths):
            ln = lengths[group]
            total = int(ln.sum())
            first = np.cumsum(ln) - ln
            source = np.arange(total, dtype=np.int64)
            source += np.repeat(seg_start[group] - on[group] + kit.offset[keys[group]] - first, ln)
            wave = kit.bank[source]
            _mix_segments(out, seg_start[group] - start, ln, wave, wave.copy(),
                          amp[group] * hit_l[group] * gain_l,
                          amp[group] * hit_r[group] * gain_r)  # fmt: skip


def _mix_segments(
    acc: np.ndarray,
    starts: np.ndarray,
    lengths: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    gain_l: np.ndarray,
    gain_r: np.ndarray,
) -> None:
    """Add each note's span of (left, right), times its gains, into ``acc[2, n]``.

    One slice operation per note: a block holds few notes compared with its samples, and
    this beats a scatter (`bincount`/`add.at`) or per-sample gathers by a wide margin.
    """
    acc_l, acc_r = acc[0], acc[1]
    offset = 0
    for start, length, g_l, g_r in zip(
        starts.tolist(), lengths.tolist(), gain_l.tolist(), gain_r.tolist(), strict=True
    ):
        span_l = left[offset : offset + length]
        span_r = right[offset : offset + length]
        span_l *= g_l
        span_r *= g_r
        acc_l[start : start + length] += span_l
        acc_r[start : start + length] += span_r
        offset += length


def _chunks(lengths: np.ndarray) -> list[np.ndarray]:
    """Split note rows into groups of at most ~_CHUNK samples in total."""
    if not len(lengths):
        return []
    total = int(lengths.sum())
    if total <= _CHUNK:
        return [np.arange(len(lengths))]
    bucket = np.cumsum(lengths) // _CHUNK
    cuts = np.nonzero(np.diff(bucket))[0] + 1
    return np.split(np.arange(len(lengths)), cuts)


class Limiter:
    """A look-ahead-free master limiter with memory across blocks.

    The gain is computed at a control rate of 64 samples: every control point is at most
    the gain that keeps the loudest sample of its neighbouring sub-blocks under the
    ceiling, so the linearly interpolated gain never lets a sample through above it.
    Gain falls instantly and recovers over `release` seconds (no pumping on single notes,
    no distortion on a dense chord). A final clip guards the rare block-boundary case,
    so |x| <= 1 always holds.
    """

    STEP = 64

    def __init__(self, sample_rate: int, ceiling: float = LIMIT_CEILING, release: float = 0.25):
        self.ceiling = ceiling
        steps_per_second = sample_rate / self.STEP
        self._recover = float(np.exp(-1.0 / (release * steps_per_second)))
        self.gain = 1.0

    def reset(self) -> None:
        self.gain = 1.0

    def process(self, block: np.ndarray) -> np.ndarray:
        """Limit a float32 ``[n, 2]`` block in place and return it."""
        n = len(block)
        if n == 0:
            return block
        loudest = float(np.abs(block).max())
        if not np.isfinite(loudest):
            np.nan_to_num(block, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
            loudest = float(np.abs(block).max())
        if self.gain >= 1.0 and loudest <= self.ceiling:
            return block  # the common case: nothing to limit, nothing recovering
        steps = -(-n // self.STEP)
        peak = np.abs(block).max(axis=1)
        padded = np.zeros(steps * self.STEP, dtype=np.float32)
        padded[:n] = peak
        loud = np.maximum(padded.reshape(steps, self.STEP).max(1), 1e-9)
        need = np.minimum(1.0, self.ceiling / loud)
        points = np.empty(steps + 1)
        points[0] = min(self.gain, need[0])
        gain = points[0]
        for k in range(1, steps + 1):
            wanted = need[k - 1] if k == steps else min(need[k - 1], need[k])
            gain = min(wanted, 1.0 - (1.0 - gain) * self._recover)
            points[k] = gain
        self.gain = float(points[-1])
        x = np.arange(n) / self.STEP
        curve = np.interp(x, np.arange(steps + 1), points).astype(np.float32)
        block *= curve[:, None]
        np.clip(block, -1.0, 1.0, out=block)
        return block


def render_song(
    song: Song,
    sample_rate: int = 44100,
    start_frame: int = 0,
    n_frames: int | None = None,
    mix: Mapping[int, TrackMix] | None = None,
    block: int = 1 << 16,
    progress=None,
) -> np.ndarray:
    """Render a whole range through the limiter: what export and tests hear.

    `n_frames` defaults to the song's end plus its release tail.
    """
    synth = Synth(sample_rate)
    if n_frames is None:
        end_s = float(song.tick_to_seconds(song.end_tick)) + song_tail_seconds(song, sample_rate)
        n_frames = max(0, int(np.ceil(end_s * sample_rate)) - start_frame) if song.end_tick else 0
    limiter = Limiter(sample_rate)
    out = np.zeros((n_frames, 2), dtype=np.float32)
    for offset in range(0, n_frames, block):
        count = min(block, n_frames - offset)
        out[offset : offset + count] = limiter.process(
            synth.render(song, start_frame + offset, count, mix)
        )
        if progress is not None:
            progress(offset + count, n_frames)
    return out
