"""Fuzz Pianola's file readers: MIDI files, projects and checkpoints.

Every input a composer can hand Pianola must end in the reader's own typed error
(`SongFileError` for songs, `CheckpointError` for models), in bounded time and memory,
and a song that loads must also save. This script mutates the bundled Bach chorales, a
project made from them, and a small checkpoint, plus hand-crafted nasty cases, and
checks exactly that. It is seeded: a failure prints the seed and case number, and
``--seed S --case N --save-failures DIR`` writes the offending bytes.

    python scripts/fuzz.py --seconds 600 --seed 1         # `make fuzz`
    python scripts/fuzz.py --cases 2000 --target midi      # a fixed number of cases

tests/test_fuzz.py runs a short, fixed campaign of it in CI.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import struct
import sys
import tempfile
import time
import tracemalloc
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from studio.core.import_report import SongFileError
from studio.core.midi_io import encode_vlq, midi_bytes, parse_midi
from studio.core.project import Project, load_project, project_to_dict
from studio.paths import bach_dataset_dir

# Bounds every case must meet. Memory: what tracemalloc sees Python and numpy allocate.
MAX_SECONDS_PER_CASE = 3.0
MAX_PEAK_BYTES_FLOOR = 64 * 2**20
MAX_PEAK_PER_INPUT_BYTE = 24  # ~10x the input plus the song it becomes

INTERESTING_BYTES = (0x00, 0x01, 0x7F, 0x80, 0x81, 0xF0, 0xF7, 0xFF, 0x2F, 0x51, 0x58)
INTERESTING_INTS = (0, -1, 1, 2**31 - 1, 2**31, 2**32, 2**53, 2**62, 2**63 - 1, -(2**63), 10**20)


# ----------------------------------------------------------------------------- seeds
def _smf(division: int, *tracks: bytes, fmt: int = 1) -> bytes:
    head = b"MThd" + struct.pack(">IHHH", 6, fmt, len(tracks), division)
    chunks = b"".join(
        b"MTrk" + struct.pack(">I", len(t) + 4) + t + b"\x00\xff\x2f\x00" for t in tracks
    )
    return head + chunks


def crafted_midi() -> list[tuple[str, bytes]]:
    """The classes of bad MIDI the reliability run found, small enough for CI."""
    same_pitch_on = b"".join(b"\x00\x90\x3c\x40" for _ in range(20_000))
    same_pitch_off = b"".join(b"\x00\x80\x3c\x00" for _ in range(20_000))
    never_off = b"".join(encode_vlq(1) + bytes([0x90, 36 + k % 60, 100]) for k in range(30_000))
    system_common = b"".join(
        b"\x00\x90\x40\x50" + b"\x00" + bytes([status]) + data + b"\x60\x80\x40\x00"
        for status, data in (
            (0xF1, b"\x10"),
            (0xF2, b"\x00\x10"),
            (0xF3, b"\x01"),
            (0xF6, b""),
            (0xF8, b""),
            (0xFA, b""),
            (0xFB, b""),
            (0xFC, b""),
            (0xFE, b""),
        )
    )
    huge_delta = b"\x00\x90\x40\x50" + encode_vlq(0x0FFFFFFF) + b"\x80\x40\x00"
    tempo_far = encode_vlq(0x0FFFFFF0) + b"\xff\x51\x03\x07\xa1\x20"
    running = b"\x00\x90\x3c\x40\x00\x3e\x40\x60\x3c\x00\x00\x3e\x00"
    sysex = b"\x00\xf0\x05\x7e\x7f\x09\x01\xf7" + b"\x00\xf7\x02\x01\x02"
    return [
        ("same pitch on/off (pairing)", _smf(480, same_pitch_on + same_pitch_off)),
        ("notes never switched off", _smf(96, never_off)),
        ("system common/real-time bytes", _smf(480, system_common)),
        ("longest delta", _smf(480, huge_delta)),
        ("tempo at the last tick", _smf(480, tempo_far)),
        ("running status", _smf(480, running)),
        ("sysex and escapes", _smf(480, sysex + running)),
        ("zero division", _smf(0, running)),
        ("SMPTE division", _smf(0xE728, running)),
        ("2045 repeated tracks", _smf(480, *([running] * 2045))),
        ("header only", b"MThd" + struct.pack(">IHHH", 6, 1, 3, 480)),
        (
            "huge chunk length",
            b"MThd" + struct.pack(">IHHH", 6, 0, 1, 480) + b"MTrk\xff\xff\xff\xff",
        ),
        (
            "RIFF wrapper",
            b"RIFF"
            + struct.pack("<I", 4 + 8 + 30)
            + b"RMID"
            + b"data"
            + struct.pack("<I", 30)
            + _smf(480, running)[:30],
        ),
        ("empty", b""),
        ("text", b"this is not a MIDI file\n" * 10),
    ]


def crafted_projects(base: dict) -> list[tuple[str, dict]]:
    """Project documents with the values that once loaded and then broke the editor."""

    def variant(edit: Callable[[dict], None]) -> dict:
        doc = json.loads(json.dumps(base))
        edit(doc)
        return doc

    def notes(doc: dict) -> dict:
        return doc["song"]["tracks"][0]["notes"]

    return [
        ("start 4e9", variant(lambda d: notes(d)["start_delta"].__setitem__(0, 4_000_000_000))),
        ("start 2^62", variant(lambda d: notes(d)["start_delta"].__setitem__(0, 2**62))),
        ("duration 2^63-1", variant(lambda d: notes(d)["duration"].__setitem__(0, 2**63 - 1))),
        ("tempo at 1e20", variant(lambda d: d["song"]["tempos"].append([10**20, 120]))),
        ("tempo nan", variant(lambda d: d["song"]["tempos"].__setitem__(0, [0, "nan"]))),
        ("negative delta", variant(lambda d: notes(d)["start_delta"].__setitem__(1, -(10**6)))),
        ("pitch 300", variant(lambda d: notes(d)["pitch"].__setitem__(0, 300))),
        ("lone surrogate title", variant(lambda d: d["song"].__setitem__("title", "\ud800"))),
        ("ticks per beat 0", variant(lambda d: d["song"].__setitem__("ticks_per_beat", 0))),
        ("ticks per beat huge", variant(lambda d: d["song"].__setitem__("ticks_per_beat", 2**40))),
        ("time signature 0/0", variant(lambda d: d["song"]["time_signatures"].append([0, 0, 0]))),
        ("ragged columns", variant(lambda d: notes(d)["pitch"].pop())),
        ("float ticks", variant(lambda d: notes(d)["duration"].__setitem__(0, 1.5))),
        ("version 99", variant(lambda d: d.__setitem__("version", 99))),
    ]


def chorale_files(limit: int | None = None) -> list[Path]:
    files = sorted(bach_dataset_dir().glob("*.mid"))
    return files[:limit] if limit else files


def project_bytes(document: dict) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode(
        "utf-8", "surrogatepass"
    )


def small_checkpoint_bytes() -> bytes:
    """A real Pianola checkpoint (tiny tensors), written by the app's own writer."""
    import torch

    from studio.ml.checkpoint import save_checkpoint

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "seed.pt"
        state = {
            "generator": {"w": torch.randn(16, 8), "b": torch.zeros(8)},
            "opt_g": {"state": {0: {"exp_avg": torch.ones(4)}}, "param_groups": [{"lr": 1e-3}]},
        }
        save_checkpoint(path, state, {"step": 3, "model_config": {}})
        return path.read_bytes()


# ----------------------------------------------------------------------------- mutators
def mutate_bytes(data: bytes, rng: random.Random, others: list[bytes]) -> bytes:
    """One to four random byte-level mutations (AFL's usual set)."""
    out = bytearray(data)
    for _ in range(rng.choice((1, 1, 1, 2, 2, 3, 4))):  # mostly one: deeper paths
        kind = rng.randrange(8)
        n = len(out)
        if n == 0:
            out += bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
            continue
        at = rng.randrange(n)
        if kind == 0:
            out[at] ^= 1 << rng.randrange(8)
        elif kind == 1:
            out[at] = rng.choice(INTERESTING_BYTES)
        elif kind == 2:
            out[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif kind == 3:
            del out[at : at + rng.randint(1, 64)]
        elif kind == 4:
            end = min(n, at + rng.randint(1, 256))
            out[at:at] = out[at:end] * rng.randint(1, 8)
        elif kind == 5:
            del out[rng.randrange(n) :]
        elif kind == 6 and n >= 4:  # a length/size field made huge
            at = min(at, n - 4)
            out[at : at + 4] = struct.pack(">I", rng.choice((0, 0x7FFFFFFF, 0xFFFFFFFF, n * 7)))
        elif others:
            other = rng.choice(others)
            cut = rng.randrange(len(other) + 1) if other else 0
            out = out[:at] + other[cut:]
    return bytes(out)


def mutate_json(document: object, rng: random.Random) -> object:
    """Structure-aware project mutation: a random value swapped for an extreme one."""
    doc = json.loads(json.dumps(document))
    for _ in range(rng.randint(1, 3)):
        parent, key = _random_slot(doc, rng)
        if parent is None:
            continue
        choice = rng.randrange(6)
        if choice == 0:
            parent[key] = rng.choice(INTERESTING_INTS)
        elif choice == 1:
            parent[key] = rng.choice(["", "x" * 1000, None, True, [], {}, 1.5, -1e300])
        elif choice == 2 and isinstance(parent, dict):
            del parent[key]
        elif choice == 3 and isinstance(parent[key], list):
            parent[key] = parent[key] * rng.randint(2, 50)
        elif choice == 4 and isinstance(parent[key], list) and parent[key]:
            parent[key].pop(rng.randrange(len(parent[key])))
        else:
            parent[key] = [parent[key]]
    return doc


def _random_slot(doc: object, rng: random.Random) -> tuple[object, object]:
    parent, key, node = None, None, doc
    for _ in range(rng.randint(1, 7)):
        if isinstance(node, dict) and node:
            parent, key = node, rng.choice(list(node))
        elif isinstance(node, list) and node:
            parent, key = node, rng.randrange(len(node))
        else:
            break
        node = parent[key]  # type: ignore[index]
    return parent, key


def mutate_checkpoint(data: bytes, rng: random.Random) -> bytes:
    """Half plain byte damage; half damage inside a member with the CRCs made right again,
    so torch's own unpickler sees the garbage (torch does not check CRCs)."""
    if rng.random() < 0.5:
        return mutate_bytes(data, rng, [])
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as source:
            members = [(info.filename, source.read(info)) for info in source.infolist()]
    except zipfile.BadZipFile:
        return mutate_bytes(data, rng, [])
    k = rng.randrange(len(members))
    name, payload = members[k]
    members[k] = (name, mutate_bytes(payload, rng, []))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as target:
        for member, payload in members:
            target.writestr(member, payload)
    return out.getvalue()


# ----------------------------------------------------------------------------- running
@dataclass
class Campaign:
    cases: int = 0
    accepted: int = 0
    refused: int = 0
    slowest: float = 0.0
    peak_bytes: int = 0
    failures: list[str] = field(default_factory=list)
    by_target: dict[str, int] = field(default_factory=dict)


def check_midi(data: bytes, folder: Path) -> bool:
    """True if loaded (and saved again), False if refused with a SongFileError."""
    try:
        song = parse_midi(data, "fuzz.mid", "fuzz")
    except SongFileError:
        return False
    midi_bytes(song)  # whatever loads must save
    json.dumps(project_to_dict(Project(song)), ensure_ascii=False).encode("utf-8")
    return True


def check_project(data: bytes, folder: Path) -> bool:
    path = folder / "fuzz.pianola"
    path.write_bytes(data)
    try:
        project = load_project(path)
    except SongFileError:
        return False
    finally:
        pass
    if path.read_bytes() != data:
        raise AssertionError("loading modified the project file")
    json.dumps(project_to_dict(project), ensure_ascii=False).encode("utf-8")
    midi_bytes(project.song)
    return True


def check_checkpoint(data: bytes, folder: Path) -> bool:
    from studio.ml.checkpoint import load_checkpoint
    from studio.ml.errors import CheckpointError

    path = folder / "fuzz.pt"
    path.write_bytes(data)
    try:
        load_checkpoint(path)
    except CheckpointError:
        return False
    return True


CHECKS: dict[str, Callable[[bytes, Path], bool]] = {
    "midi": check_midi,
    "project": check_project,
    "checkpoint": check_checkpoint,
}


def generate(
    target: str, rng: random.Random, seeds: dict[str, list[bytes]], base_doc: dict
) -> Iterator[tuple[str, bytes]]:
    """Endless (label, bytes) cases for ``target``: the crafted ones first, then mutants."""
    if target == "midi":
        yield from crafted_midi()
        while True:
            yield "mutant", mutate_bytes(rng.choice(seeds["midi"]), rng, seeds["midi"])
    elif target == "project":
        for label, document in crafted_projects(base_doc):
            yield label, project_bytes(document)
        while True:
            if rng.random() < 0.5:
                yield "json mutant", project_bytes(mutate_json(base_doc, rng))  # type: ignore[arg-type]
            else:
                yield "byte mutant", mutate_bytes(rng.choice(seeds["project"]), rng, [])
    else:
        yield "midi as model", seeds["midi"][0]
        yield "project as model", seeds["project"][0]
        while True:
            yield "mutant", mutate_checkpoint(seeds["checkpoint"][0], rng)


def load_seeds(
    n_chorales: int | None, with_checkpoint: bool
) -> tuple[dict[str, list[bytes]], dict]:
    files = chorale_files(n_chorales)
    midi = [p.read_bytes() for p in files]
    from studio.core.midi_io import load_midi

    base_doc = project_to_dict(Project(load_midi(files[0])))
    seeds = {
        "midi": midi,
        "project": [project_bytes(project_to_dict(Project(load_midi(p)))) for p in files[:8]],
        "checkpoint": [small_checkpoint_bytes()] if with_checkpoint else [],
    }
    return seeds, base_doc


def run(
    plan: dict[str, int],
    seed: int = 0,
    seconds: float | None = None,
    n_chorales: int | None = 40,
    only_case: int | None = None,
    save_failures: Path | None = None,
    verbose: bool = False,
) -> Campaign:
    """Run ``plan[target]`` cases per target (or until ``seconds`` run out, shared)."""
    seeds, base_doc = load_seeds(n_chorales, "checkpoint" in plan)
    campaign = Campaign()
    deadline = time.monotonic() + seconds if seconds else None
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        tracemalloc.start()
        try:
            for target, count in plan.items():
                rng = random.Random(f"{seed}:{target}")
                cases = generate(target, rng, seeds, base_doc)
                for index, (label, data) in zip(range(count), cases, strict=False):
                    if only_case is not None and index != only_case:
                        continue
                    if deadline is not None and time.monotonic() > deadline:
                        break
                    _one(campaign, target, index, label, data, folder, seed, save_failures)
                    if verbose and index % 500 == 0:
                        print(f"{target} {index}: {campaign.failures[-1:] or 'ok'}", flush=True)
        finally:
            tracemalloc.stop()
    return campaign


def _one(
    campaign: Campaign,
    target: str,
    index: int,
    label: str,
    data: bytes,
    folder: Path,
    seed: int,
    save_failures: Path | None,
) -> None:
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    t0 = time.perf_counter()
    problem = None
    try:
        accepted = CHECKS[target](data, folder)
    except Exception as exc:  # the point of fuzzing: anything untyped is a bug
        problem = f"{type(exc).__name__}: {str(exc)[:200]}"
        accepted = False
    took = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] - before
    limit = max(MAX_PEAK_BYTES_FLOOR, MAX_PEAK_PER_INPUT_BYTE * len(data))
    if problem is None and took > MAX_SECONDS_PER_CASE:
        problem = f"took {took:.1f} s"
    if problem is None and peak > limit:
        problem = f"allocated {peak / 2**20:.0f} MiB for {len(data)} bytes"
    campaign.cases += 1
    campaign.by_target[target] = campaign.by_target.get(target, 0) + 1
    campaign.accepted += accepted
    campaign.refused += not accepted and problem is None
    campaign.slowest = max(campaign.slowest, took)
    campaign.peak_bytes = max(campaign.peak_bytes, peak)
    if problem is not None:
        where = f"seed {seed} target {target} case {index} ({label}, {len(data)} bytes)"
        campaign.failures.append(f"{where}: {problem}")
        if save_failures is not None:
            save_failures.mkdir(parents=True, exist_ok=True)
            (save_failures / f"{target}-{seed}-{index}.bin").write_bytes(data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=None, help="time budget (all targets)")
    parser.add_argument("--cases", type=int, default=None, help="cases per target")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--target", choices=(*CHECKS, "all"), default="all")
    parser.add_argument("--case", type=int, default=None, help="rerun one case (with --seed)")
    parser.add_argument("--chorales", type=int, default=0, help="seed files (0: all 365)")
    parser.add_argument("--save-failures", type=Path, default=None, help="folder for bad inputs")
    args = parser.parse_args(argv)
    targets = list(CHECKS) if args.target == "all" else [args.target]
    if args.cases is None and args.seconds is None:
        args.seconds = 300.0
    count = args.cases if args.cases is not None else 10**9
    plan = {t: count for t in targets}
    if args.seconds and args.cases is None:
        # Share the time: each target gets its slice of the budget in turn.
        campaign = Campaign()
        for target in targets:
            part = run(
                {target: count},
                args.seed,
                args.seconds / len(targets),
                args.chorales or None,
                args.case,
                args.save_failures,
                verbose=True,
            )
            _merge(campaign, part)
    else:
        campaign = run(
            plan,
            args.seed,
            args.seconds,
            args.chorales or None,
            args.case,
            args.save_failures,
            verbose=True,
        )
    print(
        f"{campaign.cases} cases ({campaign.by_target}): {campaign.accepted} loaded, "
        f"{campaign.refused} refused with a typed error, {len(campaign.failures)} failures; "
        f"slowest {campaign.slowest:.2f} s, peak {campaign.peak_bytes / 2**20:.1f} MiB"
    )
    for failure in campaign.failures[:50]:
        print("FAIL", failure)
    return 1 if campaign.failures else 0


def _merge(total: Campaign, part: Campaign) -> None:
    total.cases += part.cases
    total.accepted += part.accepted
    total.refused += part.refused
    total.slowest = max(total.slowest, part.slowest)
    total.peak_bytes = max(total.peak_bytes, part.peak_bytes)
    total.failures += part.failures
    for key, value in part.by_target.items():
        total.by_target[key] = total.by_target.get(key, 0) + value


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
