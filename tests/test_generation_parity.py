"""The CLI and the Generation panel give identical music for identical requests.

One request goes through `pianola generate/harmonize` (MIDI files written, then read
back with studio.core.midi_io) and through the panel's job path (the session builds
the request from its settings and the open song, the worker's job runs it, the session
places the results): every variation has the same notes, and so do the tracks "Insert
as new tracks" would add. Sampling at a temperature makes the tiny model's music dense
and seed-dependent, so a difference in seeds or in the melody's voice would show.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from captions import without_keys

from studio import cli
from studio.core.midi_io import load_midi, save_midi
from studio.core.song import Song
from studio.ui.panels import generation_jobs
from studio.ui.panels.generation_session import (
    GENERATE,
    HARMONIZE,
    EditingContext,
    GenerationSession,
    GenerationSettings,
)

BACH = Path(__file__).resolve().parents[1] / "resources" / "datasets" / "bach_chorales"
TEMPERATURE = 0.7
REFINE = 1


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A few steps of `tiny` (the engine directly, no Qt)."""
    from studio.ml.train import TrainConfig, train

    root = tmp_path_factory.mktemp("parity-run")
    data = root / "chorales"
    data.mkdir()
    for name in ("bwv10.7.mid", "bwv101.7.mid", "bwv102.7.mid"):
        shutil.copy(BACH / name, data / name)
    config = TrainConfig(
        data=str(data),
        out_dir=str(root / "run"),
        preset="tiny",
        steps=3,
        batch_size=4,
        checkpoint_every=3,
        preview_every=0,
        metrics_every=0,
        cache_dir=str(root / "cache"),
    )
    finished = [e for e in train(config) if type(e).__name__ == "Finished"]
    return finished[0].checkpoint


def cli_songs(tmp_path: Path, *args: str) -> list[Song]:
    out = tmp_path / "cli"
    assert cli.main([*args, "--out", str(out)]) == 0
    return [load_midi(path) for path in sorted(out.glob("*.mid"))]


def panel_session(settings: GenerationSettings, context: EditingContext) -> GenerationSession:
    """What the panel does on Generate, minus the widgets and the thread."""
    session = GenerationSession(settings)
    session.model = generation_jobs.load_model_job(settings.model)
    session.model_source = settings.model
    job = session.begin_generate(context)
    for result in generation_jobs.generation_job(job.planned.request, session.model):
        assert session.accept(job, result)
    session.finish(job)
    return session


def notes_by_track(song: Song) -> dict[str, tuple[list[int], ...]]:
    """Each track with notes: its notes as plain columns (MIDI keeps no empty tracks)."""
    return {
        t.name: (
            t.notes.pitch.tolist(),
            t.notes.start.tolist(),
            t.notes.duration.tolist(),
            t.notes.velocity.tolist(),
        )
        for t in song.tracks
        if len(t.notes)
    }


def settings_for(mode: str, checkpoint: str) -> GenerationSettings:
    return GenerationSettings(
        mode=mode,
        model=checkpoint,
        bars=2,
        variations=3,
        seed=7,
        temperature=TEMPERATURE,
        refine_rounds=REFINE,
    )


def test_generate_seed_7_three_variations_is_the_same_in_the_cli_and_the_panel(
    checkpoint: str, tmp_path: Path
):
    from_cli = cli_songs(
        tmp_path,
        "generate",
        "--model", checkpoint,
        "--seed", "7",
        "--variations", "3",
        "--bars", "2",
        "--temperature", str(TEMPERATURE),
        "--refine", str(REFINE),
    )  # fmt: skip
    open_song = Song("Open song")  # 480 ticks per beat, like the engine's songs
    context = EditingContext(open_song, playhead=0)
    session = panel_session(settings_for(GENERATE, checkpoint), context)

    assert len(from_cli) == len(session.variations) == 3
    assert without_keys(v.caption for v in session.variations) == ["Seed 7", "Seed 8", "Seed 9"]
    for cli_song, variation in zip(from_cli, session.variations, strict=True):
        expected = notes_by_track(cli_song)
        assert sum(len(cols[0]) for cols in expected.values()) > 0  # real music, not silence
        assert notes_by_track(variation.song) == expected
        # What "Insert as new tracks" adds at the playhead (bar 1): the same notes.
        session.select([session.variations.index(variation)])
        inserted = Song("Inserted", tracks=session.insert_tracks(open_song))
        renamed = {
            name.removesuffix(" · new"): cols for name, cols in notes_by_track(inserted).items()
        }
        assert renamed == expected
    # Three different pieces: the seed rule holds on both paths.
    assert len({str(notes_by_track(s)) for s in from_cli}) == 3


def test_harmonize_is_the_same_in_the_cli_and_the_panel(checkpoint: str, tmp_path: Path):
    chorale = load_midi(BACH / "bwv10.7.mid")
    melody = chorale.copy()
    melody.tracks = [chorale.tracks[0].copy()]  # the soprano line alone
    bars4 = 4 * melody.ticks_per_bar(0)
    notes = melody.tracks[0].notes
    melody.tracks[0].notes = notes.take(np.nonzero(notes.start < bars4)[0])
    path = tmp_path / "melody.mid"
    save_midi(melody, path)

    from_cli = cli_songs(
        tmp_path,
        "harmonize",
        "--model", checkpoint,
        "--melody", str(path),
        "--melody-track", "0",
        "--seed", "7",
        "--variations", "3",
        "--temperature", str(TEMPERATURE),
        "--refine", str(REFINE),
    )  # fmt: skip
    opened = load_midi(path)  # the composer opened the same file
    context = EditingContext(opened, active_track=0, ticked=(0,))
    session = panel_session(settings_for(HARMONIZE, checkpoint), context)

    assert len(from_cli) == len(session.variations) == 3
    melody_notes = notes_by_track(opened)[opened.tracks[0].name]
    for cli_song, variation in zip(from_cli, session.variations, strict=True):
        expected = notes_by_track(cli_song)
        assert notes_by_track(variation.song) == expected
        assert melody_notes in expected.values()  # the melody is kept note for note
        # The panel's new parts are the voices around the melody, as the CLI wrote them.
        parts = {p.name: p.notes for p in variation.parts if len(p.notes)}
        others = {k: v for k, v in expected.items() if v != melody_notes}
        assert set(parts) == set(others) and len(others) >= 1
        for name, columns in others.items():
            assert parts[name].pitch.tolist() == columns[0]
            assert parts[name].start.tolist() == columns[1]
