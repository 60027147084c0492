"""The bundled Bach model (models/bach-default.pt), as a new user gets it, its distilled
student (models/bach-small.pt) and the student trained to be read by beats
(models/bach-lines.pt), checked the same way.

Seeded and small (64 samples from scratch, 32 held-out windows for the conditional
tasks), so the numbers are stable: at these seeds they are within 0.03 of the 500-sample
``pianola evaluate --model default`` report (see models/bach-default.md), e.g. pitch
classes per bar 3.27 (held-out windows here 3.21), qualified notes 0.614 (0.639),
polyphony 3.91 (3.92), scale consistency 0.939 (0.952).

The checks are the issue's quality targets themselves (within 10% of the held-out data,
0.02 absolute for rates below 0.2; harmonisation faults at most twice Bach's), with each
model's own reading: voice-leading rules on, two refinement rounds for the default model,
one for the student, one and a round by beats for bach-lines (their files say so;
models/bach-default.md).
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
from studio.ml.bundled import bundled_model
from studio.ml.errors import CheckpointError
from studio.ml.evaluate import conditional_tasks
from studio.ml.metrics import SATB_RANGES, compare
from studio.ml.sample import LoadedModel, generate, generate_rolls, harmonize, load_generator
from studio.paths import bach_dataset_dir

VOICES = ("Soprano", "Alto", "Tenor", "Bass")
SAMPLES = 64
# All 78 held-out 4/4 windows: on 32 the continuation's key agreement moved by 0.01 with the
# seed, across its 0.9 bar, for every bundled model (stop 28's notes).
TASK_WINDOWS = 80


@pytest.fixture(scope="module", params=["default", "bach-small", "bach-lines"])
def model(request: pytest.FixtureRequest) -> LoadedModel:
    """The bundled model, its distilled half-width student and the student read by beats:
    every check below holds for each (separate files, so a build may lack them)."""
    if bundled_model(request.param) is None:
        pytest.skip(f"no {request.param} model in models/")
    return load_generator(request.param)


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
    assert path.name == "bach-lines.pt"  # the model card's *The default model*
    assert ckpt.resolve_model("bach-lines") == path  # it answers to its own name too
    assert ckpt.resolve_model("bach-default").name == "bach-default.pt"
    assert path.stat().st_size <= 25 * 1024 * 1024  # the size limit
    state = torch.load(path, map_location="cpu", weights_only=True)
    assert set(state) == {"generator", "meta"}
    assert isinstance(state["meta"], str)
    assert all(isinstance(v, torch.Tensor) for v in state["generator"].values())
    meta = json.loads(state["meta"])
    assert meta["arch_version"] == ckpt.ARCH_VERSION
    assert meta["data"]["summary"]["source"] == "bach-chorales"
    assert meta["data"]["summary"]["heldout_files"] > 0  # trained with the split held out


def test_each_bundled_model_reads_as_its_model_card_measured_it(model: LoadedModel):
    """The student's file names one round (model card, *One round for the student*);
    bach-lines one round, then one by beats drawn at 0.7 (model card, *By beats*)."""
    name = Path(model.path).name
    v = model.voicing
    expected = {"bach-small.pt": (1, 0, None), "bach-lines.pt": (1, 1, 0.7)}
    assert (v.refine_rounds, v.beat_rounds, v.beat_temperature) == expected.get(name, (2, 0, None))
    assert ("reading" in model.meta) == (name in expected)
    # bach-lines also draws each beat's hold or move (*What holds the inner voices*).
    assert v.drawn_beat_moves == (name == "bach-lines.pt")
    # ... and holds where it would strike its own pitch again off the beat (*Off-beat repeats*).
    assert v.offbeat_repeats == (name != "bach-lines.pt")
    # ... and ends each window with a sixteenths pass drawn at 0.5 (*Sixteenths*), which its
    # network learnt (its training windows hid the steps between eighths).
    assert v.sixteenth_temperature == (0.5 if name == "bach-lines.pt" else None)
    offgrid = model.meta.get("train_config", {}).get("offgrid_share")
    assert (offgrid == 0.2) == (name == "bach-lines.pt")


def test_code_with_another_architecture_refuses_the_bundled_model(monkeypatch, tmp_path, capsys):
    """A Pianola whose model code moved on must say so, not generate garbage."""
    monkeypatch.setattr(ckpt, "ARCH_VERSION", "pianola-cgan-999")
    with pytest.raises(CheckpointError) as err:
        load_generator("default")
    message = str(err.value)
    assert "bach-lines.pt" in message and "pianola-cgan-999" in message
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


def within_target(generated: float, data: float) -> bool:
    """The issue's tolerance: 10% of the data's value, 0.02 absolute for rates below 0.2."""
    allowed = 0.02 if data < 0.2 else 0.1 * data
    return abs(generated - data) <= allowed


@pytest.mark.parametrize(
    "metric",
    [
        "empty_bar_rate",
        "pitch_classes_per_bar",
        "qualified_note_rate",
        "polyphony",
        "scale_consistency",
    ],
)
def test_from_scratch_metrics_meet_the_quality_targets(scratch_report: dict, metric: str):
    """The issue's five targets, on 64 seeded samples against held-out chorales.

    ``pianola evaluate --model default --samples 500`` reports the full set (model card).
    """
    g, ref = scratch_report["generated"], scratch_report["reference"]
    assert within_target(g[metric], ref[metric]), f"{metric}: {g[metric]:.3f} vs {ref[metric]:.3f}"


def test_from_scratch_voice_leading_and_distances_hold(scratch_report: dict):
    g = scratch_report["generated"]
    assert g["voice_range_rate"] >= 0.95
    assert g["voice_crossing_rate"] <= 0.01
    assert g["parallel_rate"] <= 0.001
    # Reported, not targeted: the pitch-class distance is high because the model writes
    # in every key (training transposes by up to 3 semitones) while the held-out
    # chorales sit in Bach's own, mostly flat-side keys.
    d = scratch_report["distances"]
    assert d["pitch_class_hist_distance"] <= 0.4
    assert d["note_length_hist_distance"] <= 0.15


def test_harmonize_on_held_out_chorales(task_report: dict):
    harm = task_report["harmonize"]
    g, bach = harm["generated"], harm["reference"]
    assert harm["melody_kept"]
    assert g["voice_range_rate"] >= 0.95
    # "Within 2x of Bach's own": faults, so at most twice Bach's rate.
    assert g["voice_crossing_rate"] <= 2 * bach["voice_crossing_rate"]
    assert g["parallel_rate"] <= 2 * bach["parallel_rate"]


def test_continue_keeps_the_key_of_held_out_chorales(task_report: dict):
    cont = task_report["continue"]
    g, bach = cont["generated"], cont["reference"]
    assert within_target(g["scale_consistency"], bach["scale_consistency"])
    assert g["key_agreement"] >= 0.9
