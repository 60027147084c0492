"""Checkpoint integrity: CRCs and finite weights on load, disk full on save, resume fallback,
housekeeping of killed saves, the skipped-files report, and no torch noise on stderr."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch
from ml_helpers import make_chorale_folder, tiny_config

from studio.core.midi_io import save_midi
from studio.core.song import Notes, Song, Track
from studio.ml import checkpoint as ckpt
from studio.ml import train as tr
from studio.ml.errors import CheckpointError

REPO = Path(__file__).resolve().parents[2]


def small_checkpoint(path: Path, weight: torch.Tensor | None = None) -> Path:
    weight = torch.arange(4096, dtype=torch.float32) / 7 if weight is None else weight
    return ckpt.save_checkpoint(path, {"generator": {"w": weight}}, {"step": 1})


def member_offset(path: Path, suffix: str) -> int:
    """Where the data of the zip member ending in ``suffix`` starts in the file."""
    with zipfile.ZipFile(path) as archive:
        info = next(i for i in archive.infolist() if i.filename.endswith(suffix))
    raw = path.read_bytes()
    header = info.header_offset
    name_len = int.from_bytes(raw[header + 26 : header + 28], "little")
    extra_len = int.from_bytes(raw[header + 28 : header + 30], "little")
    return header + 30 + name_len + extra_len


def test_round_trip_of_a_verified_checkpoint(tmp_path):
    path = small_checkpoint(tmp_path / "a.pt")
    state, meta = ckpt.load_checkpoint(path)
    assert meta["step"] == 1 and torch.equal(
        state["generator"]["w"][:3], torch.tensor([0, 1, 2]) / 7
    )


def test_a_flipped_byte_in_the_weights_fails_the_crc_check(tmp_path):
    path = small_checkpoint(tmp_path / "a.pt")
    raw = bytearray(path.read_bytes())
    raw[member_offset(path, "data/0") + 100] ^= 0x40
    path.write_bytes(bytes(raw))
    # torch itself would load this file and return wrong weights.
    assert torch.load(path, weights_only=True)["generator"]["w"][25] != 25 / 7
    with pytest.raises(CheckpointError, match="fails its CRC check"):
        ckpt.load_checkpoint(path)


def test_nan_or_inf_weights_are_refused(tmp_path):
    weight = torch.ones(64)
    weight[10] = float("nan")
    with pytest.raises(CheckpointError, match=r"generator\.w holds NaN or infinite"):
        ckpt.load_checkpoint(small_checkpoint(tmp_path / "nan.pt", weight))
    weight[10] = float("inf")
    with pytest.raises(CheckpointError, match="NaN or infinite"):
        ckpt.load_checkpoint(small_checkpoint(tmp_path / "inf.pt", weight))


def test_midi_text_and_empty_files_are_not_pianola_models(tmp_path, capfd):
    midi = tmp_path / "song.mid"
    save_midi(Song("x", tracks=[Track("a", notes=Notes([60], [0], [480]))]), midi)
    text = tmp_path / "notes.txt"
    text.write_text("these are my notes\n" * 20)
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    for path, kind in ((midi, "MIDI file"), (text, "text file"), (empty, "empty")):
        with pytest.raises(CheckpointError, match=f"not a Pianola model.*{kind}"):
            ckpt.load_checkpoint(path)
    assert not capfd.readouterr().err


def test_cli_model_that_is_a_midi_file_says_so_in_one_line(tmp_path):
    midi = tmp_path / "song.mid"
    save_midi(Song("x", tracks=[Track("a", notes=Notes([60], [0], [480]))]), midi)
    result = subprocess.run(
        [sys.executable, "-m", "studio", "generate", "--model", str(midi), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"pianola: error: {midi}: not a Pianola model (it is a MIDI file)"
    ]


def _disk_full_after(monkeypatch, allowed: int) -> None:
    """Make ``os.write`` (what atomic writes use) fail with ENOSPC after ``allowed`` bytes."""
    real_write = os.write
    budget = {"left": allowed}

    def write(fd, data):
        if budget["left"] <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        n = real_write(fd, bytes(data)[: budget["left"]])
        budget["left"] -= n
        return n

    monkeypatch.setattr(os, "write", write)


def test_disk_full_during_a_save_keeps_the_old_checkpoint(tmp_path, monkeypatch):
    path = small_checkpoint(tmp_path / "a.pt")
    before = path.read_bytes()
    _disk_full_after(monkeypatch, 5000)
    with pytest.raises(CheckpointError) as caught:
        small_checkpoint(path, torch.zeros(10_000))
    assert str(caught.value) == f"disk full while saving {path}"
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["a.pt"]


def test_disk_full_during_training_stops_with_the_message_and_keeps_checkpoints(
    chorales, cache_dir, tmp_path, monkeypatch
):
    out = tmp_path / "run"
    config = tiny_config(chorales, out, cache_dir, steps=6, checkpoint_every=2)
    with pytest.raises(CheckpointError, match=r"disk full while saving .*step_0000004\.pt"):
        for event in tr.train(config):
            if isinstance(event, tr.CheckpointSaved) and event.step == 2:
                _disk_full_after(monkeypatch, 0)
    monkeypatch.undo()
    kept = ckpt.list_checkpoints(out)
    assert [ckpt.step_of(p) for p in kept] == [2]
    ckpt.load_checkpoint(kept[0])
    assert not [p for p in (out / "checkpoints").iterdir() if ".tmp" in p.name]


def test_resume_falls_back_to_the_newest_good_checkpoint(chorales, cache_dir, tmp_path):
    out = tmp_path / "run"
    config = tiny_config(chorales, out, cache_dir, steps=4, checkpoint_every=2, keep_last=5)
    list(tr.train(config))
    newest = ckpt.latest_checkpoint(out)
    assert ckpt.step_of(newest) == 4
    raw = bytearray(newest.read_bytes())
    raw[member_offset(newest, "data/0") + 8] ^= 0xFF
    newest.write_bytes(bytes(raw))
    config.steps, config.resume = 6, True
    events = list(tr.train(config))
    assert events[0].start_step == 2
    notices = [e.message for e in events if isinstance(e, tr.Notice)]
    assert "step_0000004.pt is damaged" in notices[0] and "CRC" in notices[0]
    assert "resuming from step_0000002.pt (step 2)" in notices[-1]
    assert (out / "checkpoints" / "step_0000004.pt.damaged").is_file()
    assert ckpt.step_of(ckpt.latest_checkpoint(out)) == 6


def test_resume_with_only_damaged_checkpoints_explains(chorales, cache_dir, tmp_path):
    out = tmp_path / "run"
    config = tiny_config(chorales, out, cache_dir, steps=2, checkpoint_every=2)
    list(tr.train(config))
    ckpt.latest_checkpoint(out).write_bytes(b"PK\x03\x04 truncated")
    config.resume, config.steps = True, 4
    with pytest.raises(tr.TrainingError, match="none of its checkpoints is usable"):
        list(tr.train(config))


def test_run_start_removes_temp_files_of_killed_saves(chorales, cache_dir, tmp_path):
    out = tmp_path / "run"
    config = tiny_config(chorales, out, cache_dir, steps=2, checkpoint_every=2)
    list(tr.train(config))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    orphan = out / "checkpoints" / f".step_0000004.pt.{dead.stdout.strip()}-abcd1234.tmp.pt"
    orphan.write_bytes(b"half a checkpoint")
    keep = out / "checkpoints" / "notes.txt"
    keep.write_text("mine")
    config.resume, config.steps = True, 4
    list(tr.train(config))
    assert not orphan.exists() and keep.exists()
    assert [ckpt.step_of(p) for p in ckpt.list_checkpoints(out)] == [2, 4]


def test_skipped_files_are_counted_by_reason_and_listed(cache_dir, tmp_path, capsys):
    data = make_chorale_folder(tmp_path / "data")
    (data / "notes.mid").write_text("not midi")
    (data / "readme.mid").write_text("not midi either")
    (data / "cut.mid").write_bytes((data / "bwv10.7.mid").read_bytes()[:40])
    from studio.cli import main

    out = tmp_path / "run"
    code = main(["train", "--data", str(data), "--out", str(out), "--preset", "tiny",
                 "--steps", "1", "--batch-size", "4", "--device", "cpu",
                 "--cache-dir", str(cache_dir), "--threads", "1"])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "skipped 3:" in printed
    # The two text files share one reason (grouped), the truncated file has its own.
    counts = [line.split()[0] for line in printed.splitlines() if line.startswith("  ")]
    assert sorted(counts[:2]) == ["1", "2"], printed
    listing = (out / tr.SKIPPED_FILES_NAME).read_text().splitlines()
    assert listing[0] == "file\treason" and len(listing) == 4
    assert {line.split("\t")[0] for line in listing[1:]} == {"cut.mid", "notes.mid", "readme.mid"}
    assert f"full list: {out / tr.SKIPPED_FILES_NAME}" in printed


def test_skip_reasons_group_despite_names_and_numbers():
    groups = tr.skip_reason_counts(
        [
            ("a.mid", "Cannot read 'a.mid': truncated at byte 12"),
            ("b.mid", "Cannot read 'b.mid': truncated at byte 9,000"),
            ("c.mid", "no notes in any usable track"),
        ]
    )
    assert groups == [
        ("Cannot read …: truncated at byte #", 2),
        ("no notes in any usable track", 1),
    ]
