"""The ``pianola`` command line, end to end on tiny data (in process, like a user's shell)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from studio import cli
from studio.core.midi_io import load_midi, save_midi
from studio.core.song import Song

sys.path.insert(0, str(Path(__file__).parent / "ml"))
from ml_helpers import make_chorale_folder


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cli")
    data = make_chorale_folder(root / "chorales")
    run = root / "run"
    code = cli.main(
        [
            "train",
            "--data",
            str(data),
            "--out",
            str(run),
            "--preset",
            "tiny",
            "--steps",
            "4",
            "--batch-size",
            "4",
            "--device",
            "cpu",
            "--threads",
            "1",
            "--cache-dir",
            str(root / "cache"),
            "--log-every",
            "1",
            "--metrics-every",
            "0",
        ]
    )
    assert code == 0
    return {"root": root, "data": data, "run": run, "cache": root / "cache"}


def _melody_file(workspace, tmp_path) -> Path:
    chorale = load_midi(sorted(workspace["data"].glob("*.mid"))[0])
    tune = Song(
        "tune",
        chorale.ticks_per_beat,
        chorale.tempos,
        chorale.time_signatures,
        [chorale.tracks[0].copy()],
    )
    tune.tracks[0].name = "Melody"
    path = tmp_path / "tune.mid"
    save_midi(tune, path)
    return path


def test_train_prints_progress_and_writes_checkpoints(workspace, capsys):
    ckpts = sorted((workspace["run"] / "checkpoints").glob("step_*.pt"))
    assert [p.name for p in ckpts] == ["step_0000004.pt"]
    # Resume two more steps.
    code = cli.main(
        [
            "train",
            "--data",
            str(workspace["data"]),
            "--out",
            str(workspace["run"]),
            "--preset",
            "tiny",
            "--steps",
            "6",
            "--batch-size",
            "4",
            "--device",
            "cpu",
            "--threads",
            "1",
            "--cache-dir",
            str(workspace["cache"]),
            "--resume",
            "--log-every",
            "1",
            "--metrics-every",
            "0",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "steps 5..6" in out and "step 6/6" in out and "finished (completed)" in out


def test_train_dry_run_prints_parameters_and_flops(workspace, capsys):
    code = cli.main(
        [
            "train",
            "--data",
            str(workspace["data"]),
            "--out",
            "unused",
            "--preset",
            "default",
            "--dry-run",
            "--cache-dir",
            str(workspace["cache"]),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "parameters" in out and "GFLOP/sample" in out and "Soprano" in out
    assert not Path("unused").exists()


def test_generate_writes_k_midi_files(workspace, tmp_path, capsys):
    out = tmp_path / "gen"
    code = cli.main(
        [
            "generate",
            "--model",
            str(workspace["run"]),
            "--out",
            str(out),
            "--bars",
            "8",
            "--variations",
            "3",
            "--seed",
            "2",
            "--temperature",
            "1",
            "--tempo",
            "66",
        ]
    )
    assert code == 0
    files = sorted(out.glob("*.mid"))
    assert len(files) == 3
    song = load_midi(files[0])
    assert [t.name for t in song.tracks] == ["Soprano", "Alto", "Tenor", "Bass"]
    assert round(song.tempos[0].bpm) == 66


def test_harmonize_keeps_the_melody(workspace, tmp_path):
    melody = _melody_file(workspace, tmp_path)
    out = tmp_path / "harm"
    code = cli.main(
        [
            "harmonize",
            "--melody",
            str(melody),
            "--out",
            str(out),
            "--model",
            str(workspace["run"]),
            "--variations",
            "2",
            "--melody-track",
            "Melody",
        ]
    )
    assert code == 0
    files = sorted(out.glob("*.mid"))
    assert len(files) == 2
    original = load_midi(melody).tracks[0].notes
    result = load_midi(files[0])
    assert result.tracks[0].notes.same_notes(original)
    assert len(result.tracks) == 4


def test_continue_writes_longer_songs(workspace, tmp_path):
    melody = _melody_file(workspace, tmp_path)
    out = tmp_path / "cont"
    code = cli.main(
        [
            "continue",
            "--primer",
            str(melody),
            "--out",
            str(out),
            "--bars",
            "2",
            "--model",
            str(workspace["run"]),
            "--variations",
            "2",
        ]
    )
    assert code == 0
    files = sorted(out.glob("*.mid"))
    assert len(files) == 2
    assert load_midi(files[0]).end_tick > load_midi(melody).end_tick


def test_evaluate_json(workspace, capsys):
    code = cli.main(["evaluate", "--model", str(workspace["run"]), "--samples", "16", "--json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert "held-out" in report["reference"]
    assert set(report["generated"]) >= {"empty_bar_rate", "qualified_note_rate", "polyphony"}
    assert report["tasks"]["harmonize"]["melody_kept"] is True
    assert "pitch_class_hist_distance" in report["distances"]
    code = cli.main(["evaluate", "--model", str(workspace["run"]), "--samples", "8"])
    assert code == 0 and "scale_consistency" in capsys.readouterr().out


def test_usage_errors_exit_2(capsys):
    assert cli.main(["generate"]) == 2
    assert "--out" in capsys.readouterr().err
    assert cli.main(["train", "--data", "x", "--out", "y", "--steps", "0"]) == 2
    assert cli.main(["frobnicate"]) == 2


def test_other_errors_exit_1_with_one_line(workspace, tmp_path, capsys):
    assert cli.main(["generate", "--model", str(tmp_path / "nope.pt"), "--out", "x"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("pianola: error:") and err.count("\n") == 1
    assert cli.main(["train", "--data", str(tmp_path), "--out", str(tmp_path / "r")]) == 1
    assert "no MIDI files" in capsys.readouterr().err
    with pytest.raises(Exception, match="not found"):
        cli.main(["--debug", "generate", "--model", str(tmp_path / "nope.pt"), "--out", "x"])


def test_harmonize_unknown_track_is_a_usage_error(workspace, tmp_path, capsys):
    melody = _melody_file(workspace, tmp_path)
    code = cli.main(
        [
            "harmonize",
            "--melody",
            str(melody),
            "--out",
            str(tmp_path / "o"),
            "--model",
            str(workspace["run"]),
            "--melody-track",
            "Tuba",
        ]
    )
    assert code == 2 and "Tuba" in capsys.readouterr().err


def test_no_subcommand_opens_the_gui(monkeypatch):
    import studio.ui.app as app

    seen = []
    monkeypatch.setattr(app, "run_app", lambda argv: seen.append(argv) or 0)
    assert cli.main([]) == 0
    assert cli.main(["gui", "song.mid"]) == 0
    assert seen == [[], ["song.mid"]]


def test_cli_and_engine_never_import_qt():
    code = (
        "import sys, studio.cli, studio.ml.train, studio.ml.sample, studio.ml.evaluate;"
        "studio.cli.build_parser();"
        "bad = [m for m in sys.modules if m.startswith('PySide6')];"
        "sys.exit(1 if bad else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], timeout=120).returncode == 0


def test_python_dash_m_studio_help():
    result = subprocess.run(
        [sys.executable, "-m", "studio", "--help"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0
    for command in ("train", "generate", "harmonize", "continue", "evaluate"):
        assert command in result.stdout
