"""The ``pianola`` command line, end to end on tiny data (in process, like a user's shell)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
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
            "--lr-decay",
            "cosine",
            "--lr-decay-start",
            "4",
            "--lr-final",
            "0.5",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "steps 5..6" in out and "step 6/6" in out and "finished (completed)" in out
    # The decay ran from the resume point to half the default rates at the last step.
    from studio.ml import checkpoint as ckpt

    state, _ = ckpt.load_checkpoint(ckpt.latest_checkpoint(workspace["run"]))
    assert state["opt_g"]["param_groups"][0]["lr"] == pytest.approx(2e-4 * 0.5)
    # The same command again (scripts/train_bundled_model.sh rerun after an interruption):
    # the finished run says so and trains nothing.
    again = [
        "train",
        *("--data", str(workspace["data"]), "--out", str(workspace["run"])),
        *("--preset", "tiny", "--steps", "6", "--batch-size", "4", "--device", "cpu"),
        *("--cache-dir", str(workspace["cache"]), "--resume", "--metrics-every", "0"),
    ]
    assert cli.main(again) == 0
    out = capsys.readouterr().out
    assert "nothing left to train: the run already reached step 6" in out
    assert "step 7" not in out
    assert ckpt.latest_checkpoint(workspace["run"]).name == "step_0000006.pt"


def test_train_distils_a_small_model_from_a_bundled_one():
    args = cli.build_parser().parse_args(
        ["train", "--data", "x", "--out", "o", "--preset", "small", "--distill-from", "default"]
    )
    config = cli._train_config(args)
    assert (config.preset, config.distill_from) == ("small", "default")
    pure = cli.build_parser().parse_args(
        ["train", "--data", "x", "--out", "o", "--adv-weight", "0", "--fm-weight", "0"]
    )
    assert (cli._train_config(pure).adv_weight, cli._train_config(pure).fm_weight) == (0, 0)
    plain = cli.build_parser().parse_args(["train", "--data", "x", "--out", "o"])
    assert cli._train_config(plain).distill_from is None


def test_train_takes_the_length_weight_into_its_config():
    args = cli.build_parser().parse_args(
        ["train", "--data", "x", "--out", "o", "--length-weight", "10", "--length-threshold", "0.5"]
    )
    assert cli._train_config(args).length_weight == 10.0
    assert cli._train_config(args).length_threshold == 0.5
    default = cli.build_parser().parse_args(["train", "--data", "x", "--out", "o"])
    assert cli._train_config(default).length_weight == 0.0
    assert cli._train_config(default).length_threshold == 0.0


def test_train_takes_the_read_critic_weight_into_its_config():
    args = cli.build_parser().parse_args(
        [
            "train",
            "--data",
            "x",
            "--out",
            "o",
            "--read-critic-weight",
            "0.5",
            "--read-critic-signal",
            "even",
        ]
    )
    assert cli._train_config(args).read_critic_weight == 0.5
    assert cli._train_config(args).read_critic_signal == "even"
    default = cli.build_parser().parse_args(["train", "--data", "x", "--out", "o"])
    assert cli._train_config(default).read_critic_weight == 0.0


def test_train_takes_the_voice_leading_weight_into_its_config():
    args = cli.build_parser().parse_args(
        ["train", "--data", "x", "--out", "o", "--voice-leading-weight", "100"]
    )
    assert cli._train_config(args).voice_leading_weight == 100.0
    default = cli.build_parser().parse_args(["train", "--data", "x", "--out", "o"])
    assert cli._train_config(default).voice_leading_weight == 0.0


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
    assert "teacher" not in out
    assert not Path("unused").exists()
    argv = ["train", "--data", str(workspace["data"]), "--out", "unused", "--preset", "tiny"]
    argv += ["--distill-from", str(workspace["run"]), "--cache-dir", str(workspace["cache"])]
    assert cli.main([*argv, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"teacher    {workspace['run']}: " in out and "(distillation)" in out


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
    # The flicker checks are in every evaluation; the held-out chorales have no short rests.
    assert 0.0 <= report["generated"]["passing_sixteenth_share"] <= 1.0
    assert report["generated"]["short_rests_per_note"] >= 0.0
    assert report["reference_metrics"]["short_rests_per_note"] == 0.0
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


def test_a_bundled_model_goes_by_its_name(tmp_path, capsys):
    from studio.ml.bundled import bundled_model

    if bundled_model("bach-phrases") is None:
        pytest.skip("no bach-phrases.pt in models/")
    out = tmp_path / "out"
    argv = ["generate", "--model", "bach-phrases", "--bars", "2", "--variations", "1"]
    assert cli.main([*argv, "--refine", "0", "--out", str(out)]) == 0
    assert len(list(out.glob("*.mid"))) == 1
    assert cli.main(["generate", "--model", "bach-fugues", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "bach-fugues" in err and "bundled models: default, " in err
    assert "bach-phrases" in err.split("bundled models:")[1]


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


def test_the_command_leaves_a_generation_quickly_with_its_output_complete(workspace, tmp_path):
    """`pianola generate` (console_main) skips the interpreter's teardown once its files are
    written: every file is there, every line of its output reached the pipe, and an error
    still exits 2 with its message."""
    out = tmp_path / "out"
    argv = ["generate", "--model", str(workspace["run"]), "--variations", "3", "--bars", "2"]
    done = subprocess.run(
        [sys.executable, "-m", "studio", *argv, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    written = sorted(out.glob("*.mid"))
    assert len(written) == 3
    assert done.stdout.split() == [str(p) for p in written]
    for path in written:
        assert load_midi(path).note_count > 0
    bad = subprocess.run(
        [sys.executable, "-m", "studio", *argv, "--key", "H minor", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "cannot read the key 'H minor'" in bad.stderr
    assert set(cli.COMMANDS) > cli.QUICK_EXIT_COMMANDS
    assert not {"train", "gui"} & cli.QUICK_EXIT_COMMANDS


def test_python_dash_m_studio_help():
    result = subprocess.run(
        [sys.executable, "-m", "studio", "--help"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0
    for command in ("train", "generate", "harmonize", "continue", "infill", "convert", "evaluate"):
        assert command in result.stdout


# ----------------------------------------------------------------------------- ranges
@pytest.mark.parametrize(
    "argv",
    [
        ["generate", "--temperature", "nan"],
        ["generate", "--temperature", "inf"],
        ["generate", "--temperature", "-1"],
        ["generate", "--threshold", "nan"],
        ["generate", "--threshold", "2"],
        ["generate", "--threshold", "-5"],
        ["generate", "--threshold", "1"],
        ["generate", "--seed", str(2**70)],
        ["generate", "--seed", "-1"],
        ["generate", "--tempo", "nan"],
        ["generate", "--bars", "100000"],
        ["generate", "--variations", "0"],
        ["generate", "--variations", "5000000"],
        ["generate", "--refine", "-1"],
        ["generate", "--min-note-steps", "0"],
        ["train", "--data", "x", "--minutes", "nan"],
        ["train", "--data", "x", "--threads", "-1"],
        ["train", "--data", "x", "--checkpoint-every", "-5"],
        ["train", "--data", "x", "--batch-size", "10000000"],
        ["train", "--data", "x", "--lr-g", "0"],
        ["train", "--data", "x", "--recon-weight", "inf"],
        ["train", "--data", "x", "--voice-leading-weight", "-1"],
        ["train", "--data", "x", "--length-weight", "nan"],
        ["train", "--data", "x", "--length-threshold", "2"],
        ["train", "--data", "x", "--read-critic-weight", "-1"],
        ["evaluate", "--samples", "0"],
    ],
)
def test_numbers_outside_their_range_exit_2_naming_the_range(argv, tmp_path, capsys):
    option = next(a for a in argv if a.startswith("--") and a != "--data")
    assert cli.main([*argv, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"pianola: error: argument {option}: must be") and err.count("\n") == 1
    assert not (tmp_path / "o").exists()


def option_helps(command: str) -> dict[str, str]:
    """Each option's help text in ``pianola COMMAND --help``, whitespace collapsed."""
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    text = " ".join(sub.format_help().split())
    found = {}
    for action in sub._actions:
        if action.option_strings and action.help and action.dest != "help":
            found[action.option_strings[0]] = action
    return found | {"_text": text}


@pytest.mark.parametrize("command", ["train", "generate", "harmonize", "continue", "infill"])
def test_help_shows_every_options_default_and_numeric_range(command):
    helps = option_helps(command)
    text = helps.pop("_text")
    for option, action in helps.items():
        if action.default not in (None, False) and not action.required:
            assert f"(default: {action.default})" in text or "(default: the" in text, option
        if action.type is not None and action.type not in (str,):
            assert re.search(r"[\[(]-?[\d.e-]+, [\d.e+]+[\])]", action.help), option


def test_version(capsys):
    from studio import __version__

    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"pianola {__version__}"


def test_counts_are_plural_only_when_more_than_one(workspace, tmp_path, capsys):
    melody = _melody_file(workspace, tmp_path)
    argv = ["harmonize", "--melody", str(melody), "--out", str(tmp_path / "o")]
    assert cli.main([*argv, "--model", str(workspace["run"]), "--melody-track", "3"]) == 2
    err = capsys.readouterr().err
    assert "has 1 track" in err and "1 tracks" not in err


# ----------------------------------------------------------------------------- the service
def test_cli_writes_exactly_what_the_generation_service_makes(workspace, tmp_path):
    """Same request, same notes for every variation (files round-trip through MIDI)."""
    from studio.ml import generation as gen

    out = tmp_path / "cli"
    argv = ["generate", "--model", str(workspace["run"]), "--out", str(out), "--bars", "4"]
    assert cli.main([*argv, "--variations", "3", "--seed", "7", "--temperature", "0.7"]) == 0
    request = gen.GenerationRequest(
        "generate",
        model=str(workspace["run"]),
        bars=4,
        variations=3,
        seed=7,
        sampling=gen.SamplingOptions(temperature=0.7),
    )
    songs = [s for r in gen.run(request, drafts=False) for s in r.songs]
    files = sorted(out.glob("*.mid"))
    assert [f.name for f in files] == [f"generated_7_0{k}.mid" for k in (1, 2, 3)]
    for path, song in zip(files, songs, strict=True):
        save_midi(song, tmp_path / "service.mid")
        expected = load_midi(tmp_path / "service.mid")
        written = load_midi(path)
        assert [t.notes for t in written.tracks] == [t.notes for t in expected.tracks]


def test_variations_are_written_batch_by_batch(workspace, tmp_path, monkeypatch):
    from studio.ml import generation as gen

    monkeypatch.setattr(gen, "BATCH", 2)
    batches = []
    real_run = gen.run

    def spying_run(*args, **kwargs):
        for result in real_run(*args, **kwargs):
            batches.append((result.first, len(list((tmp_path / "o").glob("*.mid")))))
            yield result

    monkeypatch.setattr(gen, "run", spying_run)
    argv = ["generate", "--model", str(workspace["run"]), "--out", str(tmp_path / "o")]
    assert cli.main([*argv, "--variations", "5", "--bars", "2"]) == 0
    # Each batch is on disk before the next one is made.
    assert batches == [(0, 0), (2, 2), (4, 4)]
    assert len(list((tmp_path / "o").glob("*.mid"))) == 5


def test_ctrl_c_stops_generation_and_keeps_what_was_written(workspace, tmp_path):
    out = tmp_path / "o"
    argv = ["generate", "--model", str(workspace["run"]), "--out", str(out), "--refine", "0"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "studio", *argv, "--variations", "48", "--bars", "8"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},  # steady on a busy test machine
    )
    first = proc.stdout.readline()  # the first batch is on disk
    assert first.strip().endswith("_01.mid")
    proc.send_signal(signal.SIGINT)
    t0 = time.perf_counter()
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert time.perf_counter() - t0 < 30
    files = sorted(out.glob("*.mid"))
    assert len(files) in (16, 32) and "Traceback" not in stderr
    assert f"stopped: {len(files)} of 48 variations written" in stderr
    for path in files:
        assert len(load_midi(path).tracks) == 4


def test_infill_rewrites_the_chosen_bars_of_the_chosen_tracks(workspace, tmp_path):
    source = sorted(workspace["data"].glob("*.mid"))[1]
    song = load_midi(source)
    out = tmp_path / "inf"
    argv = ["infill", "--song", str(source), "--out", str(out), "--model", str(workspace["run"])]
    assert cli.main([*argv, "--start-bar", "2", "--end-bar", "3", "--tracks", "Alto,2"]) == 0
    (path,) = sorted(out.glob("*.mid"))
    assert path.name == f"{source.stem}_bars2-3_01.mid"
    result = load_midi(path)
    bar = song.ticks_per_bar(0)
    for k in (0, 3):
        assert result.tracks[k].notes.same_notes(song.tracks[k].notes)
    for k in (1, 2):
        notes = result.tracks[k].notes
        outside = notes.take(np.nonzero((notes.start < bar) | (notes.start >= 3 * bar))[0])
        before = song.tracks[k].notes
        kept = before.take(np.nonzero((before.start < bar) | (before.start >= 3 * bar))[0])
        assert outside.same_notes(kept)


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--start-bar", "500", "--end-bar", "501"], "--start-bar 500: the song has"),
        (["--start-bar", "3", "--end-bar", "2"], "comes before"),
        (["--start-bar", "1", "--end-bar", "2", "--tracks", "Tuba"], "'Tuba': no such track"),
    ],
)
def test_infill_bad_requests_exit_2(workspace, tmp_path, capsys, extra, words):
    source = sorted(workspace["data"].glob("*.mid"))[1]
    argv = ["infill", "--song", str(source), "--out", str(tmp_path / "o")]
    assert cli.main([*argv, "--model", str(workspace["run"]), *extra]) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1
    assert not (tmp_path / "o").exists()


def test_a_song_file_of_unknown_type_is_a_usage_error(tmp_path, capsys):
    (tmp_path / "tune.txt").write_text("do re mi")
    argv = ["harmonize", "--melody", str(tmp_path / "tune.txt"), "--out", str(tmp_path / "o")]
    assert cli.main(argv) == 2
    assert "unknown file type" in capsys.readouterr().err


def test_a_track_the_model_does_not_have_exits_2_before_any_work(workspace, tmp_path, capsys):
    song = load_midi(sorted(workspace["data"].glob("*.mid"))[1])
    song.tracks.append(song.tracks[0].copy())
    song.tracks[-1].name = "Descant"
    save_midi(song, tmp_path / "five.mid")
    argv = ["infill", "--song", str(tmp_path / "five.mid"), "--out", str(tmp_path / "o")]
    argv += ["--model", str(workspace["run"]), "--start-bar", "1", "--end-bar", "1"]
    assert cli.main([*argv, "--tracks", "Descant"]) == 2
    err = capsys.readouterr().err
    assert "track 4 (Descant) cannot be rewritten" in err and "only 4 tracks" in err
    assert not (tmp_path / "o").exists()


def test_a_training_batch_that_cannot_fit_is_refused_with_advice(workspace, capsys, monkeypatch):
    from studio.ml import generation as gen

    monkeypatch.setattr(gen, "available_memory", lambda: 512 * 2**20)
    argv = ["train", "--data", str(workspace["data"]), "--out", "x", "--preset", "tiny"]
    argv += ["--cache-dir", str(workspace["cache"]), "--batch-size", "1000", "--dry-run"]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    fits = int(re.search(r"use --batch-size (\d+) or less", err).group(1))
    assert 10 <= fits < 1000
    argv[-2] = str(fits)
    assert cli.main(argv) == 0  # the advised size passes the check


def test_a_huge_training_batch_is_refused_with_an_estimate(workspace, capsys):
    argv = ["train", "--data", str(workspace["data"]), "--out", "x", "--preset", "tiny"]
    argv += ["--cache-dir", str(workspace["cache"]), "--batch-size", "100000", "--dry-run"]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert re.search(r"--batch-size 100000 needs about \d+\.\d GB and .* GB is free", err)
    assert "use --batch-size" in err


def test_convert_by_extension(workspace, tmp_path, capsys):
    source = sorted(workspace["data"].glob("*.mid"))[0]
    assert cli.main(["convert", str(source), str(tmp_path / "song.pianola")]) == 0
    assert "4 tracks" in capsys.readouterr().out
    assert cli.main(["convert", str(tmp_path / "song.pianola"), str(tmp_path / "back.mid")]) == 0
    assert load_midi(tmp_path / "back.mid").note_count == load_midi(source).note_count
    assert cli.main(["convert", str(source), str(tmp_path / "song.txt")]) == 2
    assert "unknown file type" in capsys.readouterr().err


def test_evaluate_c2st_reports_the_engine_v2_measures(workspace, capsys, monkeypatch):
    from studio.ml import c2st, engine_eval

    monkeypatch.setattr(c2st, "CONV_STEPS", 20)  # the plumbing, not the classifier's skill
    made = []
    real_generate = engine_eval.generate_rolls

    def counting_generate(model, *args, **kwargs):
        made.append(model.voicing)
        return real_generate(model, *args, **kwargs)

    monkeypatch.setattr(engine_eval, "generate_rolls", counting_generate)
    code = cli.main(
        ["evaluate", "--model", str(workspace["run"]), "--samples", "12", "--c2st", "--json"]
    )
    assert code == 0
    # The default decoding's windows are the evaluation's own; only the network-alone
    # reading is generated again.
    assert [v.rules for v in made] == [False]
    engine = json.loads(capsys.readouterr().out)["engine_v2"]
    default = engine["results"]["default decoding"]
    for name in ("feature", "conv", "feature_real_vs_real", "conv_real_vs_real"):
        assert 0.0 <= default["c2st"][name]["accuracy"] <= 1.0
    assert 0.0 <= default["memorisation_share"] <= 1.0
    assert default["giveaways"] and all(0.0 <= g["auc"] <= 1.0 for g in default["giveaways"])
    assert "short_rests_per_note" in default["note_lengths"]["generated"]
    assert set(engine["checks"]["default decoding"]) >= {"feature C2ST <= 0.70"}
    harmonization = engine["harmonization"]
    assert harmonization is not None and harmonization["melody_kept"] == 1.0
    asked = engine["key_requests"]
    assert asked["samples"] == 12 and set(asked["shares"]) == set(engine_eval.KEY_REQUESTS)
    assert all(0.0 <= share <= 1.0 for share in asked["shares"].values())
