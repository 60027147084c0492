"""The built-in synthesizer: bounded, finite, silent where it should be, in tune, click-free."""

from __future__ import annotations

import numpy as np
import pytest

from studio.audio.drums import drum_kit
from studio.audio.instruments import VOICES, midi_to_hz, voice_for_program
from studio.audio.synth import Limiter, Synth, TrackMix, render_song
from studio.core.song import Notes, Song, TempoChange, Track

SR = 44100


def one_note(program: int = 0, pitch: int = 69, ticks: int = 480, velocity: int = 100, **kw):
    track = Track("t", program=program, notes=Notes([pitch], [0], [ticks], [velocity]), **kw)
    return Song("one", tracks=[track])


def peak_frequency(x: np.ndarray, sr: int = SR) -> float:
    mono = x.mean(axis=1)
    spectrum = np.abs(np.fft.rfft(mono * np.hanning(len(mono))))
    return float(np.fft.rfftfreq(len(mono), 1.0 / sr)[spectrum.argmax()])


def band_energy(x: np.ndarray, low: float, high: float, sr: int = SR) -> float:
    mono = x.mean(axis=1)
    spectrum = np.abs(np.fft.rfft(mono * np.hanning(len(mono)))) ** 2
    freqs = np.fft.rfftfreq(len(mono), 1.0 / sr)
    return float(spectrum[(freqs >= low) & (freqs < high)].sum())


@pytest.mark.parametrize("program", [0, 19, 24, 32, 40, 52, 56, 73, 80, 88])
def test_note_is_finite_bounded_and_in_tune(program: int) -> None:
    x = render_song(one_note(program), SR)
    assert x.dtype == np.float32 and x.shape[1] == 2
    assert np.isfinite(x).all()
    assert np.abs(x).max() <= 1.0
    assert np.abs(x).max() > 0.01, "a forte note must be audible"
    # The fundamental carries a real share of the energy, and nothing sounds below it.
    f0 = 440.0
    fundamental = band_energy(x, f0 * 0.97, f0 * 1.03)
    total = band_energy(x, 20.0, SR / 2)
    assert fundamental / total > 0.05
    assert band_energy(x, 20.0, f0 * 0.8) / total < 0.01


def test_piano_a4_peaks_at_440_hz() -> None:
    x = render_song(one_note(0, pitch=69), SR)
    assert peak_frequency(x) == pytest.approx(440.0, abs=3.0)
    x = render_song(one_note(0, pitch=48), SR)
    assert peak_frequency(x) == pytest.approx(float(midi_to_hz(48)), abs=3.0)


@pytest.mark.parametrize("program", [0, 19, 52, 40, 32])
def test_envelope_has_no_click(program: int) -> None:
    """A note starts and ends at (near) zero and never jumps between samples."""
    x = render_song(one_note(program, ticks=240), SR)
    assert np.abs(x[:3]).max() < 1e-3
    assert np.abs(x[-3:]).max() < 1e-3
    # The largest sample-to-sample step stays well under the peak (a click is a jump).
    steps = np.abs(np.diff(x, axis=0)).max()
    assert steps < 0.5 * np.abs(x).max()


def test_silent_where_no_note_sounds() -> None:
    song = Song("gap", tracks=[Track("p", notes=Notes([60, 64], [0, 4800], [480, 480]))])
    synth = Synth(SR)
    # 120 bpm: the first note ends at 0.5 s (+0.14 s release); the second starts at 5 s.
    gap = synth.render(song, int(1.0 * SR), int(3.5 * SR))
    assert not gap.any()
    before_end = synth.render(song, 0, int(0.4 * SR))
    assert np.abs(before_end).max() > 0.01


def test_blocks_join_without_seams() -> None:
    """Rendering in pieces gives exactly the same audio as one piece (pure in time)."""
    song = one_note(52, ticks=960)
    synth = Synth(SR)
    whole = synth.render(song, 0, 30000)
    pieces = np.concatenate([synth.render(song, a, 1000) for a in range(0, 30000, 1000)])
    np.testing.assert_allclose(pieces, whole, atol=1e-5)


def test_empty_song_and_empty_tracks() -> None:
    assert render_song(Song("empty"), SR).shape == (0, 2)
    song = Song("silent", tracks=[Track("a"), Track("d", is_drum=True)])
    assert render_song(song, SR).shape == (0, 2)
    block = Synth(SR).render(song, 0, 4096)
    assert block.shape == (4096, 2) and not block.any()
    assert Synth(SR).render(song, 100, 0).shape == (0, 2)


@pytest.mark.parametrize("bpm", [1.0, 999.0])
def test_extreme_tempos(bpm: float) -> None:
    notes = Notes(np.arange(48, 72), np.arange(24) * 120, np.full(24, 120), np.full(24, 90))
    song = Song("tempo", tempos=[TempoChange(0, bpm)], tracks=[Track("p", notes=notes)])
    synth = Synth(SR)
    end = int(song.tick_to_seconds(song.end_tick) * SR)
    x = synth.render(song, max(0, end - 2 * SR), 2 * SR)
    assert np.isfinite(x).all()
    assert np.abs(x).max() > 0.001


def test_massive_chord_stays_bounded() -> None:
    """Hundreds of simultaneous forte notes on many tracks never clip."""
    pitches = np.arange(400) % 88 + 21
    tracks = [
        Track(f"t{k}", program=p, notes=Notes(pitches, np.zeros(400, int), np.full(400, 240),
                                              np.full(400, 127)))
        for k, p in enumerate((0, 19, 52, 48))
    ]  # fmt: skip
    x = render_song(Song("wall", tracks=tracks), SR)
    assert np.isfinite(x).all()
    assert np.abs(x).max() <= 1.0
    assert np.abs(x).max() > 0.5, "the limiter must not simply mute the chord"


def test_limiter_is_transparent_below_ceiling_and_bounds_above() -> None:
    t = np.arange(SR) / SR
    quiet = (0.5 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    block = np.stack([quiet, quiet], axis=1)
    np.testing.assert_array_equal(Limiter(SR).process(block.copy()), block)
    loud = block * 8.0
    limiter = Limiter(SR)
    out = np.concatenate([limiter.process(loud[k : k + 512].copy()) for k in range(0, SR, 512)])
    assert np.abs(out).max() <= 1.0
    assert np.abs(out[-1000:]).max() > 0.9  # held at the ceiling, not squashed to nothing


def test_velocity_sets_loudness() -> None:
    soft = render_song(one_note(0, velocity=30), SR)
    loud = render_song(one_note(0, velocity=120), SR)
    assert np.abs(loud).max() > 4 * np.abs(soft).max()


def test_gain_pan_mute_and_solo() -> None:
    a = Track("a", program=0, notes=Notes([60], [0], [480]))
    b = Track("b", program=0, notes=Notes([72], [0], [480]))
    song = Song("mix", tracks=[a, b])
    synth = Synth(SR)
    left = synth.render(song, 0, 8000, {0: TrackMix(pan=-1.0), 1: TrackMix(gain=0.0)})
    assert np.abs(left[:, 1]).max() < 1e-6 < np.abs(left[:, 0]).max()
    b.mute = True
    only_a = synth.render(song, 0, 8000, {0: TrackMix(), 1: TrackMix()})
    a.mute, b.mute, b.solo = False, False, True
    only_b = synth.render(song, 0, 8000, {0: TrackMix(), 1: TrackMix()})
    assert peak_frequency(only_a) == pytest.approx(float(midi_to_hz(60)), abs=6)
    assert peak_frequency(only_b) == pytest.approx(float(midi_to_hz(72)), abs=6)
    with pytest.raises(ValueError, match="pan"):
        TrackMix(pan=2.0)


def test_drum_kit_sounds_and_is_bounded() -> None:
    keys = [35, 36, 38, 39, 40, 42, 44, 46, 49, 51, 56, 60, 0, 127]
    notes = Notes(keys, np.arange(len(keys)) * 240, np.full(len(keys), 60), np.full(len(keys), 110))
    song = Song("kit", tracks=[Track("drums", is_drum=True, notes=notes)])
    x = render_song(song, SR)
    assert np.isfinite(x).all() and np.abs(x).max() <= 1.0
    # Each hit is audible where it starts (0.25 s apart at 120 bpm).
    for k in range(len(keys)):
        start = int(k * 0.25 * SR)
        assert np.abs(x[start : start + 2000]).max() > 0.01, keys[k]
    # The kick is low, the closed hat is high.
    kit = drum_kit(SR)
    kick = kit.bank[kit.offset[36] : kit.offset[36] + 8000, None].repeat(2, 1)
    hat = kit.bank[kit.offset[42] : kit.offset[42] + 8000, None].repeat(2, 1)
    assert peak_frequency(kick) < 200 < 5000 < peak_frequency(hat)


def test_every_program_maps_to_a_voice_and_renders() -> None:
    names = {voice_for_program(p).name for p in range(128)}
    assert {"piano", "organ", "choir", "strings", "bass", "plucked"} <= names
    assert names <= {v.name for v in VOICES}
    with pytest.raises(ValueError):
        voice_for_program(128)


def test_render_note_for_preview() -> None:
    note = Synth(48000).render_note(52, False, 60, 100, 0.3)
    assert note.shape[1] == 2 and len(note) > 0.3 * 48000
    assert np.abs(note[-3:]).max() < 1e-3
    hit = Synth(48000).render_note(0, True, 38, 100, 0.3)
    assert np.abs(hit).max() > 0.01 and np.abs(hit[-1]).max() < 1e-3


# -- sustain pedal (CC64) -------------------------------------------------------------------
def _pedal_song(pedal: list[tuple[int, int]], program: int = 0) -> Song:
    """A one-beat A4 at 120 bpm (0.5 s), with CC64 events (tick, value)."""
    from studio.core.song import SUSTAIN, Controllers

    controllers = Controllers([t for t, _ in pedal], [SUSTAIN] * len(pedal), [v for _, v in pedal])
    track = Track(
        "p", program=program, notes=Notes([69], [0], [480], [100]), controllers=controllers
    )
    return Song("pedal", tracks=[track])


def _energy(x: np.ndarray, t0: float, t1: float) -> float:
    return float(np.mean(x[int(t0 * SR) : int(t1 * SR)] ** 2))


@pytest.mark.parametrize("program", [0, 52])  # a decaying piano and a sustained choir
def test_pedal_down_holds_the_note_after_its_note_off(program: int) -> None:
    synth = Synth(SR)
    n = int(2.5 * SR)
    dry = synth.render(_pedal_song([], program), 0, n)
    # Pedal pressed during the note, lifted at 2 s (tick 1920).
    held = synth.render(_pedal_song([(240, 127), (1920, 0)], program), 0, n)
    # While the note is held both are the same.
    assert np.allclose(dry[: int(0.45 * SR)], held[: int(0.45 * SR)], atol=1e-6)
    # Well after the note-off (0.5 s) plus the release, only the pedalled note sounds.
    assert _energy(dry, 1.2, 1.9) < 1e-9
    assert _energy(held, 1.2, 1.9) > 1e-6
    # After the pedal is lifted at 2 s and the release has passed, silence again.
    assert _energy(held, 2.4, 2.5) < 1e-9


def test_pedal_lifted_before_the_note_off_changes_nothing() -> None:
    synth = Synth(SR)
    n = int(1.5 * SR)
    dry = synth.render(_pedal_song([]), 0, n)
    early = synth.render(_pedal_song([(0, 127), (240, 0)]), 0, n)
    low = synth.render(_pedal_song([(0, 40)]), 0, n)  # below 64 is "up"
    assert np.array_equal(dry, early) and np.array_equal(dry, low)


def test_sustained_ends_and_restrike() -> None:
    from studio.audio.synth import sustained_ends

    notes = Notes([60, 60, 64, 67], [0, 960, 0, 2000], [480, 240, 480, 100])
    spans = np.array([[100, 1500]])
    ends = sustained_ends(notes, spans)
    by_row = dict(
        zip(
            zip(notes.pitch.tolist(), notes.start.tolist(), strict=True), ends.tolist(), strict=True
        )
    )
    assert by_row[(60, 0)] == 960  # held, but cut where the same key is struck again
    assert by_row[(60, 960)] == 1500  # held until the pedal is lifted
    assert by_row[(64, 0)] == 1500
    assert by_row[(67, 2000)] == 2100  # after the pedal: unchanged
    assert np.array_equal(
        sustained_ends(notes, np.empty((0, 2), np.int64)), notes.start + notes.duration
    )


def test_song_tail_includes_the_pedal() -> None:
    from studio.audio.synth import song_tail_seconds

    dry = song_tail_seconds(_pedal_song([]), SR)
    held = song_tail_seconds(_pedal_song([(240, 127), (1920, 0)]), SR)
    assert held == pytest.approx(dry + 1.5)  # the note now ends at tick 1920, 1.5 s later


def test_player_plays_the_pedal_until_it_is_lifted() -> None:
    from studio.audio.player import Player
    from studio.audio.testing import ManualStream

    block = 1024
    player = Player(_pedal_song([(240, 127), (1920, 0)]), SR, threaded=False, device_block=block)
    stream = ManualStream(player.callback, SR, block)
    stream.start()
    try:
        player.play(from_tick=0)
        heard = []
        for _ in range(int(1.8 * SR / block)):  # 1.8 s: long after the note-off at 0.5 s
            player.fill()
            heard.append(stream.pump())
        assert not player.finished  # the pedal holds the note until 2 s
        audio = np.concatenate(heard)
        assert _energy(audio, 1.2, 1.7) > 1e-6
    finally:
        player.close()


# -- volume (CC7) and expression (CC11) --------------------------------------------------------
def _level_song(events: list[tuple[int, int, int]]) -> Song:
    from studio.core.song import Controllers

    controllers = Controllers(
        [e[0] for e in events], [e[1] for e in events], [e[2] for e in events]
    )
    track = Track("s", program=52, notes=Notes([69], [0], [1920], [100]), controllers=controllers)
    return Song("level", tracks=[track])


def test_expression_scales_the_track_and_volume_100_changes_nothing() -> None:
    from studio.core.song import EXPRESSION, VOLUME

    synth = Synth(SR)
    n = int(1.5 * SR)
    dry = synth.render(_level_song([]), 0, n)
    assert np.array_equal(synth.render(_level_song([(0, VOLUME, 100)]), 0, n), dry)
    # Expression drops to 64 at 0.5 s (tick 480): a quarter of the amplitude after the glide.
    swell = synth.render(_level_song([(480, EXPRESSION, 64)]), 0, n)
    assert np.allclose(swell[: int(0.49 * SR)], dry[: int(0.49 * SR)], atol=1e-6)
    later = slice(int(0.6 * SR), int(1.4 * SR))
    ratio = np.abs(swell[later]).max() / np.abs(dry[later]).max()
    assert ratio == pytest.approx((64 / 127) ** 2, rel=0.02)
    # Silenced by expression 0, without a click: the glide keeps sample steps small.
    muted = synth.render(_level_song([(480, EXPRESSION, 0)]), 0, n)
    assert np.abs(muted[int(0.51 * SR) :]).max() == 0.0
    assert np.abs(np.diff(muted[:, 0])).max() < 4 * np.abs(np.diff(dry[:, 0])).max()


def test_level_automation_blocks_join_without_seams() -> None:
    from studio.core.song import EXPRESSION

    synth = Synth(SR)
    song = _level_song([(0, EXPRESSION, 90), (300, EXPRESSION, 30), (700, EXPRESSION, 127)])
    whole = synth.render(song, 0, SR)
    parts = np.concatenate([synth.render(song, k, 1000) for k in range(0, SR, 1000)])[:SR]
    assert np.allclose(whole, parts, atol=1e-6)
