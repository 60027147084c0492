"""Optional SoundFont playback (tinysoundfont): loads, plays, seeks, and fails clearly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from studio.audio.soundfont import SoundFontError, SoundFontSynth, probe, tinysoundfont_available
from studio.core.song import Notes, Song, Track

SR = 44100


def bundled_font() -> Path | None:
    try:
        import pretty_midi
    except ImportError:
        return None
    path = Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"
    return path if path.is_file() else None


needs_font = pytest.mark.skipif(
    not (tinysoundfont_available() and bundled_font()),
    reason="tinysoundfont or pretty_midi's TimGM6mb.sf2 not installed",
)


def song() -> Song:
    beats = np.arange(8)
    return Song(
        "sf",
        tracks=[
            Track("choir", program=52, notes=Notes(60 + beats, beats * 480, np.full(8, 470))),
            Track("drums", is_drum=True, notes=Notes(np.full(8, 36), beats * 480, np.full(8, 60))),
        ],
    )


def test_missing_and_broken_files_raise_clear_errors(tmp_path) -> None:
    with pytest.raises(SoundFontError, match="not found"):
        SoundFontSynth(tmp_path / "nope.sf2", SR)
    broken = tmp_path / "broken.sf2"
    broken.write_bytes(b"RIFF\x00\x00\x00\x00junk")
    message = probe(broken, SR)
    assert "broken.sf2" in message


@needs_font
def test_soundfont_renders_sound_in_sequential_blocks() -> None:
    synth = SoundFontSynth(bundled_font(), SR)
    s = song()
    blocks = [synth.render(s, start, 4096) for start in range(0, 4 * SR, 4096)]
    audio = np.concatenate(blocks)
    assert np.isfinite(audio).all()
    assert np.abs(audio).max() > 0.01
    # Notes start on the beat (0.5 s apart at 120 bpm): sound right after each onset.
    for beat in range(6):
        onset = int(beat * 0.5 * SR)
        assert np.abs(audio[onset : onset + 4000]).max() > 0.005


@needs_font
def test_seek_restrikes_held_notes_and_mute_is_honoured() -> None:
    synth = SoundFontSynth(bundled_font(), SR)
    s = song()
    synth.render(s, 0, 4096)
    # Jump into the middle of the third note: it is re-struck, so the block is not silent.
    middle = synth.render(s, int(1.2 * SR), 4096)
    assert np.abs(middle).max() > 0.005
    s.tracks[0].mute = True
    s.tracks[1].mute = True
    muted = synth.render(s, int(1.2 * SR), 4096)
    # The old voices fade out within ~6 ms (no click), then nothing sounds.
    assert not muted[512:].any()


@needs_font
def test_preview_note_and_probe() -> None:
    synth = SoundFontSynth(bundled_font(), SR)
    note = synth.render_note(0, False, 60, 100, 0.3)
    assert np.abs(note).max() > 0.01 and np.abs(note[-5:]).max() < 1e-3
    assert probe(bundled_font(), SR) == ""
