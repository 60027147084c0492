"""`pianola --self-check OUT.mid`: the check the packaged app runs in the smoke test.

Run from source here (packaging/smoke_test.sh runs the same code frozen): it must pass
with a bundled model, fail with a clear one-line reason without one, and refuse a
missing output path.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from studio.core.midi_io import load_midi
from studio.ui.app import run_app

BACH = Path(__file__).resolve().parents[1] / "resources" / "datasets" / "bach_chorales"


@pytest.fixture(scope="module")
def bundled_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models/ folder holding a 3-step `tiny` generator as default.pt."""
    from studio.ml.train import TrainConfig, train

    root = tmp_path_factory.mktemp("self-check-model")
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
    models = root / "models"
    models.mkdir()
    shutil.copy(finished[0].checkpoint, models / "default.pt")
    return models


@pytest.fixture
def models_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Point the bundled-model lookup at a folder chosen by the test."""
    import studio.ml.checkpoint as checkpoint

    def use(folder: Path) -> None:
        monkeypatch.setattr(checkpoint, "bundled_models_dir", lambda: folder)

    monkeypatch.setenv("PIANOLA_DATA_DIR", str(tmp_path / "data"))
    return use


def test_self_check_generates_two_bars_and_writes_midi(
    qapp, bundled_models, models_dir, tmp_path, capsys
):
    models_dir(bundled_models)
    out = tmp_path / "out" / "check.mid"

    assert run_app(["--self-check", str(out)]) == 0

    report = capsys.readouterr().out
    for stage in ("window shown", "audio", "model loaded", "generated", "midi written", "done"):
        assert f"self-check: {stage}" in report
    song = load_midi(out)
    assert sum(len(track.notes) for track in song.tracks) > 0


def test_self_check_without_a_bundled_model_fails_with_the_reason(
    qapp, models_dir, tmp_path, capsys
):
    models_dir(tmp_path / "empty-models")
    out = tmp_path / "check.mid"

    assert run_app(["--self-check", str(out)]) == 1

    err = capsys.readouterr().err
    assert "self-check FAILED at model" in err
    assert "no bundled model" in err
    assert not out.exists()


def test_self_check_needs_an_output_path(capsys):
    assert run_app(["--self-check"]) == 2
    assert "usage: pianola --self-check OUT.mid" in capsys.readouterr().err
