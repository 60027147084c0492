"""`pianola --self-check OUT.mid`: the check the packaged app runs in the smoke test.

Run from source here (packaging/smoke_test.sh runs the same code frozen): it must pass
with the committed bundled model (models/*.pt), fail with a clear one-line reason
without one, and refuse a missing output path.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.core.midi_io import load_midi
from studio.ui.app import run_app

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def models_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Point the bundled-model lookup at a folder chosen by the test."""
    import studio.ml.checkpoint as checkpoint

    def use(folder: Path) -> None:
        monkeypatch.setattr(checkpoint, "bundled_models_dir", lambda: folder)

    monkeypatch.setenv("PIANOLA_DATA_DIR", str(tmp_path / "data"))
    return use


def test_self_check_generates_two_bars_and_writes_midi(qapp, models_dir, tmp_path, capsys):
    models_dir(ROOT / "models")  # the model committed for the installers
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
