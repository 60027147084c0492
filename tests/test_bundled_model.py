"""The bundled Bach model (models/bach-default.pt), as a new user gets it.

Seeded and small (64 samples from scratch, 32 held-out windows for the conditional
tasks), so the numbers are stable: at these seeds they match the 500-sample
``pianola evaluate --model default`` report to about 0.01 (see models/bach-default.md).

The regression bands sit around the CURRENT measured values, so a broken checkpoint,
generator or decoder fails here. They are NOT the issue's quality targets: most of those
are not met yet (the model card lists them); the checks that hold the issue's own
thresholds (melody kept, voice ranges, crossings, continuation key) say so.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

import studio.ml.checkpoint as ckpt
from studio.cli import main as cli_main
from studio.core.midi_io import load_midi
from studio.core.pianoroll import song_to_roll
from studio.core.song import Song, TempoChange, TimeSignature, Track
from studio.ml.errors import CheckpointError
from studio.ml.evaluate import conditional_tasks
from studio.ml.metrics import SATB_RANGES, compare
from studio.ml.sample import LoadedModel, generate, generate_rolls, harmonize, load_generator
from studio.paths import bach_dataset_dir

VOICES = ("Soprano", "Alto", "Tenor", "Bass")
SAMPLES = 64
TASK_WINDOWS = 32


@pytest.fixture(scope="module")
def model() -> LoadedModel:
    return load_generator("default")


def held_out_songs() -> list[Song]:
    folder = Path(bach_dataset_dir())
    names = json.loads((folder / "split.json").read_text())["eval"]
    songs = []
    for name in names:
        song = load_midi(folder / name)
        ts = song.time_signatures
        if len(ts) == 1 and (ts[0].numerator, ts[0].denominator) == (4, 4):
            songs.append(song)
    return songs


@pytest.fixture(scope="module")
def held_out_windows(model: LoadedModel) -> np.ndarray:
    """Non-overlapping 4-bar windows of the held-out 4/4 chorales, in the model's roll."""
    windows = []
    for song in held_out_songs():
        order = [[t.name for t in song.tracks].index(v) for v in VOICES]
        bar = song.ticks_per_bar(0)
        for b in range(0, song.end_tick // bar - 3, 4):
            roll = song_to_roll(song, model.spec, order, b * bar, model.config.n_steps)
            if (roll > 0).any(axis=(1, 2)).all():
                windows.append(roll)
    return np.stack(windows)


@pytest.fixture(scope="module")
def scratch_report(model: LoadedModel, held_out_windows: np.ndarray) -> dict:
    generated = generate_rolls(model, SAMPLES, seed=0)
    cfg = model.config
    return compare(generated, held_out_windows, cfg.steps_per_bar, model.lowest_pitch, "bach")


@pytest.fixture(scope="module")
def task_report(model: LoadedModel, held_out_windows: np.ndarray) -> dict:
    return conditional_tasks(model, held_out_windows, 0, 0.0, 1, limit=TASK_WINDOWS)


# ----------------------------------------------------------------------------- the file
def test_bundled_file_is_weights_only_and_small():
    path = ckpt.resolve_model("default")
    assert path.name == "bach-default.pt"
    assert path.stat().st_size <= 25 * 1024 * 1024  # the size limit
    state = torch.load(path, map_location="cpu", weights_only=True)
    assert set(state) == {"generator", "meta"}
    assert isinstance(state["meta"], str)
    assert all(isinstance(v, torch.Tensor) for v in state["generator"].values())
    meta = json.loads(state["meta"])
    assert meta["arch_version"] == ckpt.ARCH_VERSION
    assert meta["data"]["summary"]["source"] == "bach-chorales"
    assert meta["data"]["summary"]["heldout_files"] > 0  # trained with the split held out


def test_code_with_another_architecture_refuses_the_bundled_model(monkeypatch, tmp_path, capsys):
    """A Pianola whose model code moved on must say so, not generate garbage."""
    monkeypatch.setattr(ckpt, "ARCH_VERSION", "pianola-cgan-999")
    with pytest.raises(CheckpointError) as err:
        load_generator("default")
    message = str(err.value)
    assert "bach-default.pt" in message and "pianola-cgan-999" in message
    assert "retrain" in message
    code = cli_main(["generate", "--model", "default", "--out", str(tmp_path), "--bars", "2"])
    out = capsys.readouterr()
    assert code != 0
    assert "architecture" in out.err and "Traceback" not in out.err
    assert not list(tmp_path.iterdir())  # nothing written


# ----------------------------------------------------------------------------- songs
def test_generated_songs_are_four_named_voices(model: LoadedModel):
    songs = generate(model, bars=4, variations=3, seed=0)
    again = generate(model, bars=4, variations=3, seed=0)
    assert len(songs) == 3
    for song, repeat in zip(songs, again, strict=True):
        assert [t.name for t in song.tracks] == list(VOICES)
        assert {t.program for t in song.tracks} == {52}  # choir, as in the data
        assert sum(1 for t in song.tracks if len(t.notes)) >= 3
        assert song.end_tick <= 4 * song.ticks_per_bar(0)
        assert song == repeat  # seeded: the same seed gives the same music


def test_harmonize_keeps_a_held_out_soprano_and_writes_voices_in_range(model: LoadedModel):
    chorale = held_out_songs()[0]
    bar = chorale.ticks_per_bar(0)
    soprano = chorale.tracks[[t.name for t in chorale.tracks].index("Soprano")]
    notes = soprano.notes.take(np.nonzero(soprano.notes.start < 4 * bar)[0])
    melody = Song(
        "melody",
        chorale.ticks_per_beat,
        [TempoChange(0, chorale.initial_bpm)],
        [TimeSignature(0, 4, 4)],
        [Track("Soprano", 52, notes=notes)],
    )
    (result,) = harmonize(model, melody, keep_tracks={0: 0}, seed=0)
    assert [t.name for t in result.tracks] == list(VOICES)
    kept = result.tracks[0].notes
    for column in ("pitch", "start", "duration", "velocity"):
        assert np.array_equal(getattr(kept, column), getattr(notes, column))
    in_range = []
    for k in (1, 2, 3):
        lo, hi = SATB_RANGES[k]
        pitches = result.tracks[k].notes.pitch
        assert len(pitches) > 0, f"{VOICES[k]} is empty"
        in_range.append((pitches >= lo) & (pitches <= hi))
    assert np.concatenate(in_range).mean() >= 0.95


# ----------------------------------------------------------------------------- metrics
def test_metrics_are_finite(scratch_report: dict, task_report: dict):
    values = [
        *scratch_report["generated"].values(),
        *scratch_report["distances"].values(),
        *task_report["harmonize"]["generated"].values(),
        *task_report["continue"]["generated"].values(),
    ]
    assert all(math.isfinite(v) for v in values)


def test_from_scratch_metrics_hold_their_measured_values(scratch_report: dict):
    """Bands around today's values (64 samples, seed 0); Bach's held-out value in brackets.

    Measured: empty bars 0.092 (0), pitch classes/bar 2.59 (3.21), qualified notes 0.81
    (0.64), polyphony 2.43 (3.92), scale consistency 0.72 (0.95). Only the pitch-class
    histogram is anywhere near the issue's target; this test guards against regressions.
    """
    g = scratch_report["generated"]
    assert g["empty_bar_rate"] <= 0.15
    assert 2.2 <= g["pitch_classes_per_bar"] <= 4.0
    assert 0.55 <= g["qualified_note_rate"] <= 0.95
    assert 2.2 <= g["polyphony"] <= 4.0  # four monophonic voices: 4 at most
    assert g["scale_consistency"] >= 0.65
    assert g["voice_range_rate"] >= 0.93
    assert g["voice_crossing_rate"] <= 0.06
    d = scratch_report["distances"]
    assert d["pitch_class_hist_distance"] <= 0.28
    assert d["note_length_hist_distance"] <= 0.35


def test_harmonize_on_held_out_chorales(task_report: dict):
    harm = task_report["harmonize"]
    g, bach = harm["generated"], harm["reference"]
    # The issue's own thresholds, met today:
    assert harm["melody_kept"]
    assert g["voice_range_rate"] >= 0.95
    assert g["voice_crossing_rate"] <= max(2 * bach["voice_crossing_rate"], 0.005)
    # NOT met today (Bach ~0.0003-0.0005, the model ~0.04-0.05): a regression bound only.
    assert g["parallel_rate"] <= 0.08


def test_continue_keeps_the_key_of_held_out_chorales(task_report: dict):
    cont = task_report["continue"]
    g, bach = cont["generated"], cont["reference"]
    # The threshold (within 10% of the data), met today: 0.994 vs 0.965.
    assert (
        abs(g["scale_consistency"] - bach["scale_consistency"]) <= 0.1 * bach["scale_consistency"]
    )
    assert g["key_agreement"] >= 0.9
