"""Beyond Bach (issue 12.6): small folders from the music21 corpus train and generate in
their own metres, through the same code paths as ``pianola train`` and ``generate``."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import pytest

from studio.cli import main as cli_main
from studio.core.midi_io import load_midi
from studio.core.song import Song, TimeSignature
from studio.ml import generation as gen
from studio.ml.sample import load_generator

ROOT = Path(__file__).resolve().parents[2]
pytest.importorskip("music21")


def _script():
    spec = importlib.util.spec_from_file_location(
        "build_corpus_folders", ROOT / "scripts" / "build_corpus_folders.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("corpus")
    script = _script()
    for name in ("palestrina", "jigs"):
        assert len(script.build_folder(name, out, limit=4)) == 4
    return out


def test_score_to_song_keeps_parts_with_notes_on_the_set_program_at_90_bpm() -> None:
    from music21 import meter, note, stream, tempo

    score = stream.Score()
    for name, content in (("Cantus ", note.Note("A4", quarterLength=2)), (None, None)):
        bar = stream.Measure(number=1)
        bar.append([meter.TimeSignature("3/2"), tempo.MetronomeMark(number=60)])
        bar.append(content or note.Rest(quarterLength=6))
        part = stream.Part()
        part.partName = name
        part.append(bar)
        score.insert(0, part)
    song = _script().score_to_song(score, "Piece", program=73)
    # The part of rests is dropped; the score's metronome mark is not read.
    assert [(t.name, t.program) for t in song.tracks] == [("Cantus", 73)]
    assert song.tracks[0].notes.columns()[0].tolist() == [69]
    assert [t.bpm for t in song.tempos] == [90.0]
    assert [(ts.numerator, ts.denominator) for ts in song.time_signatures] == [(3, 2)]


def _metres(folder: Path) -> set[tuple[int, int]]:
    return {
        (ts.numerator, ts.denominator)
        for path in folder.glob("*.mid")
        for ts in load_midi(path).time_signatures
    }


def test_the_script_writes_palestrina_in_4_2_and_3_2_and_jigs_in_6_8(folders):
    assert _metres(folders / "palestrina") == {(4, 2), (3, 2)}
    assert _metres(folders / "jigs") == {(6, 8)}


@pytest.fixture(scope="module")
def runs(folders: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("runs")
    cache = tmp_path_factory.mktemp("cache")
    runs = {}
    for name in ("palestrina", "jigs"):
        run = out / name
        code = cli_main(["train", "--data", str(folders / name), "--out", str(run),
                         "--preset", "tiny", "--steps", "3", "--batch-size", "4",
                         "--mapping", "piano", "--device", "cpu", "--threads", "1",
                         "--cache-dir", str(cache)])  # fmt: skip
        assert code == 0
        runs[name] = run
    return runs


def test_each_folder_trains_and_the_model_knows_its_metres(runs):
    assert set(load_generator(runs["palestrina"]).trained_metres) == {(4, 2), (3, 2)}
    assert load_generator(runs["jigs"]).trained_metres == [(6, 8)]


def _bar_ticks(song: Song) -> int:
    ts = song.time_signatures[0]
    return song.ticks_per_beat * 4 * ts.numerator // ts.denominator


@pytest.mark.parametrize(("run", "metre"), [("jigs", (6, 8)), ("palestrina", (3, 4))])
def test_generating_into_a_song_writes_in_its_metre(runs, run, metre):
    model = load_generator(runs[run])
    target = Song("target", 480, time_signatures=[TimeSignature(0, *metre)])
    # Drawn at temperature 1: a model of three steps has not learnt to be sure of a note.
    sampling = gen.SamplingOptions(temperature=1.0)
    request = gen.GenerationRequest(
        "generate", bars=4, variations=2, song=target, sampling=sampling
    )
    (result,) = list(gen.run(request, model=model, drafts=False))
    for song in result.songs:
        assert (song.time_signatures[0].numerator, song.time_signatures[0].denominator) == metre
        assert song.note_count > 0
        end = max(int((t.notes.start + t.notes.duration).max()) for t in song.tracks)
        assert math.ceil(end / _bar_ticks(song)) == 4  # four bars of the song's metre
    told = " ".join(result.notes)
    assert ("trained on" in told) == (run == "palestrina")  # it never saw 3/4


def test_the_cli_writes_a_six_eight_file_of_the_bars_asked(runs, tmp_path):
    code = cli_main(["generate", "--model", str(runs["jigs"]), "--out", str(tmp_path),
                     "--time-signature", "6/8", "--bars", "3", "--variations", "1",
                     "--temperature", "1"])  # fmt: skip
    assert code == 0
    (path,) = tmp_path.glob("*.mid")
    song = load_midi(path)
    assert [(t.numerator, t.denominator) for t in song.time_signatures] == [(6, 8)]
    assert math.ceil(song.end_tick / _bar_ticks(song)) == 3
