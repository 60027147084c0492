"""ML engine benchmarks: training throughput vs the machine's peak, generation latency,
MIDI ingestion speed (pretty_midi vs our reader, which training and the editor share).

``python -m bench.run ml`` (CPU, plus the same figures on CUDA when a GPU is present);
``python -m bench.bench_ml interactive`` only issue 12's speed rows, ``... quiet`` only
those measured without a training run (about a minute), ``... models NAME ...`` the quiet
request and process rows of each bundled model, alternating in one run.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path
from unittest import mock

import torch

from bench.common import Row, best_of
from studio.ml import compute, data
from studio.ml.models import flops_per_sample


def peak_gflops(device: torch.device, n: int = 2048) -> float:
    """Achieved GFLOP/s of a large float32 matmul: the practical peak of the device."""
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)

    def mm() -> None:
        (a @ b).sum().item()

    mm()
    return 2 * n**3 / best_of(mm, repeat=5) / 1e9


def training_rate(
    preset: str, device: str, batch: int, steps: int, cache: Path
) -> tuple[float, float]:
    """(samples/s, GFLOP/s achieved) of full GAN training steps on the Bach chorales."""
    from studio.ml.train import TrainConfig, Trainer

    config = TrainConfig(
        data=data.BACH_NAME,
        out_dir=str(cache / "unused"),
        preset=preset,
        batch_size=batch,
        device=device,
        cache_dir=str(cache),
        seed=0,
    )
    trainer = Trainer(config)
    for k in range(2):  # warm-up: allocator, kernels, optimizer state
        trainer.train_step(k)
    sync = torch.cuda.synchronize if trainer.device.type == "cuda" else (lambda: None)
    sync()
    t0 = time.perf_counter()
    for k in range(steps):
        trainer.train_step(2 + k)
    sync()
    rate = batch * steps / (time.perf_counter() - t0)
    return rate, rate * flops_per_sample(trainer.model_cfg)["train_step"] / 1e9


def reading_text(voicing: object) -> str:
    """``1 round(s)`` or ``1 round(s) + 1 by beats``: a model's reading, for the notes."""
    text = f"{getattr(voicing, 'refine_rounds', 0)} round(s)"
    beats = getattr(voicing, "beat_rounds", 0)
    return f"{text} + {beats} by beats" if beats else text


def _bench_model(device: str, refine_rounds: int) -> tuple[object, object]:
    """An untrained default-preset model (same cost as the bundled one) and a request."""
    from studio.ml.generation import SamplingOptions
    from studio.ml.models import Generator, preset_config
    from studio.ml.sample import LoadedModel

    cfg = preset_config("default")
    model = LoadedModel(
        Generator(cfg).to(device).eval(), cfg, 28, [dict(t) for t in data.BACH_TRACKS]
    )
    return model, SamplingOptions(refine_rounds=refine_rounds)


def generation_latency(
    device: str, refine_rounds: int, variations: int = 16, bars: int = 8
) -> float:
    """Seconds for ``variations`` × ``bars`` bars from the default preset (one batch,
    through the generation service): ``refine_rounds`` 0 is the panel's first draft,
    2 the refined variations."""
    from studio.ml.generation import GenerationRequest, run

    model, sampling = _bench_model(device, refine_rounds)

    def once(seed: int) -> None:
        request = GenerationRequest(
            "generate", bars=bars, variations=variations, seed=seed, sampling=sampling
        )
        for _ in run(request, model=model, drafts=False):
            pass

    with torch.inference_mode():
        once(0)
        return best_of(lambda: once(1), 3)


def cancel_gap(device: str, variations: int = 16, bars: int = 8) -> float:
    """Longest wait between two cancel checks of the generation service (so the worst
    delay before a Cancel takes effect), refined ×2, one batch."""
    from studio.ml.generation import GenerationRequest, run

    model, sampling = _bench_model(device, 2)
    checks: list[float] = []

    def cancel() -> bool:
        checks.append(time.perf_counter())
        return False

    request = GenerationRequest("generate", bars=bars, variations=variations, sampling=sampling)
    with torch.inference_mode():
        for _ in run(request, cancel=cancel, model=model, drafts=False):
            pass
    return max(b - a for a, b in itertools.pairwise(checks))


class BackgroundTraining:
    """A training run in a thread of this process, as the Training panel runs it (the
    engine's `train` loop, one torch thread, the thread niced to 10)."""

    def __init__(self, preset: str, cache: Path, batch: int = 32, niced: bool = True) -> None:
        from studio.ml.train import StepMetrics, TrainConfig, TrainControl, train

        self.control = TrainControl()
        self.steps = 0
        self.started = threading.Event()
        config = TrainConfig(
            data=data.BACH_NAME,
            out_dir=tempfile.mkdtemp(prefix=f"background_{preset}_", dir=cache),
            preset=preset,
            steps=1_000_000,
            batch_size=batch,
            checkpoint_every=0,
            preview_every=0,
            metrics_every=0,
            device="cpu",
            cache_dir=str(cache),
            threads=max(1, compute.cpu_threads() - 1),  # what the panel passes
        )

        def loop() -> None:
            if niced:  # the panel's priority on Linux (other systems: QThread's, weaker)
                with contextlib.suppress(AttributeError, OSError):
                    os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
            try:
                for event in train(config, self.control):
                    if isinstance(event, StepMetrics):
                        self.steps += 1
                        if self.steps >= 2:  # past the warm-up (allocator, optimizer state)
                            self.started.set()
            finally:
                self.started.set()  # a failed start does not keep the bench waiting

        self.thread = threading.Thread(target=loop, daemon=True)
        self.thread.start()
        if not self.started.wait(600) or not self.thread.is_alive():
            raise RuntimeError("background training did not start")

    def stop(self) -> None:
        self.control.request_stop()
        self.thread.join(600)


def timed_request(model: object, bars: int, variations: int, seed: int) -> tuple[float, float]:
    """(seconds to the first draft, seconds to the refined music) of one request through
    the generation service (default sampling: refinement on, drafts shown)."""
    from studio.ml.generation import GenerationRequest, run

    request = GenerationRequest("generate", bars=bars, variations=variations, seed=seed)
    t0 = time.perf_counter()
    first = None
    with torch.inference_mode():
        for _ in run(request, model=model):
            if first is None:
                first = time.perf_counter() - t0
    return first or 0.0, time.perf_counter() - t0


def interactive_rows(
    cache: Path, repeat: int = 3, quiet_only: bool = False, model_name: str = "default"
) -> list[Row]:
    """Issue 12 point 5: 8 variations x 8 bars with the default refinement (the model's own
    reading) of the bundled ``model_name``, quiet and
    while a training run goes in another thread of this process (with the arbiter of
    studio.ml.compute, and without it: the app before it), in one run so the ratios
    compare like with like; and one `pianola generate --bars 8` process. Medians.
    ``quiet_only``: without the training runs (a minute instead of several)."""
    import sys
    from statistics import median

    from studio.ml.generation import load_model

    model = load_model(model_name)
    bars, variations = 8, 8
    what = f"generate {variations} × {bars} bars" + (
        "" if model_name == "default" else f", {model_name}"
    )
    timed_request(model, bars, variations, 0)  # warm-up
    rows: list[Row] = []

    def add(row: Row) -> None:
        rows.append(row)
        print(row, file=sys.stderr, flush=True)  # a long run shows its progress

    def measure(times: int = repeat) -> tuple[float, float]:
        runs = [timed_request(model, bars, variations, 1 + k) for k in range(times)]
        return median(r[0] for r in runs), median(r[1] for r in runs)

    draft, refined = measure()
    rounds, threads = reading_text(model.voicing), compute.ARBITER.last_threads
    note = f"{model_name}, {rounds}, {threads} thread(s) (idle cores), median"
    add(Row("ml", f"{what}, first draft, quiet", draft * 1000, "ms", "<= 150", note))
    add(Row("ml", f"{what}, refined, quiet", refined * 1000, "ms", "<= 500", note))
    for threads in sorted({1, compute.cpu_threads()}):
        with mock.patch.dict(os.environ, {"PIANOLA_GENERATION_THREADS": str(threads)}):
            _, forced = measure(2)
        note = f"thread budget forced; {forced / refined:.1f}× the idle-cores choice"
        add(
            Row("ml", f"{what}, refined, quiet, {threads} thread(s)", forced * 1000, "ms", "", note)
        )
    from studio.ml.sample import inference_precision

    with mock.patch.dict(os.environ, {"PIANOLA_INFERENCE_PRECISION": "bf16"}):
        if inference_precision(torch.device("cpu")) == "bfloat16":
            fast_draft, fast = measure()
            note = f"opt-in, notes differ from float32; {fast / refined:.2f}× float32"
            add(Row("ml", f"{what}, refined, quiet, bfloat16", fast * 1000, "ms", "", note))
            note = f"opt-in; {fast_draft / draft:.2f}× float32"
            add(
                Row(
                    "ml", f"{what}, first draft, quiet, bfloat16", fast_draft * 1000, "ms", "", note
                )
            )
    trainings = () if quiet_only else (("tiny", True), ("default", True), ("default", False))
    for preset, niced in trainings:
        training = BackgroundTraining(preset, cache, niced=niced)
        preset = preset if niced else f"{preset} (not niced)"
        try:
            for enabled in (True, False):
                compute.ARBITER.enabled = enabled
                steps_before = training.steps
                busy_draft, busy = measure(2)
                label = "with arbiter" if enabled else "no arbiter"
                stepped = training.steps - steps_before
                metric = f"{what}, %s, training {preset}, {label}"
                note = f"{busy / refined:.1f}× quiet; {stepped} training steps meanwhile"
                add(Row("ml", metric % "refined", busy * 1000, "ms", "<= 2× quiet", note))
                note = f"{busy_draft / draft:.1f}× quiet"
                add(Row("ml", metric % "first draft", busy_draft * 1000, "ms", "", note))
        finally:
            compute.ARBITER.enabled = True
            training.stop()
    add(cli_row(model=model_name))
    if quiet_only:
        return rows
    for name, ms, diff in forward_variants(model):
        note = f"max |Δ logit| vs eager {diff:.0e}" if diff else "bit-identical"
        add(Row("ml", f"generator pass, 8 windows, {name}", ms, "ms", "", f"1 thread; {note}"))
    return rows


def forward_variants(model: object, rounds: int = 8) -> list[tuple[str, float, float]]:
    """(name, best ms, max |difference| from eager) of one generator pass over 8 windows
    in the cheap-win variants the issue lists (interleaved, best of ``rounds``)."""
    import copy

    g = model.generator.eval()
    c = model.config
    z = torch.randn(8, c.z_dim, generator=torch.Generator().manual_seed(0))
    ctx = torch.zeros(8, 2 * c.n_tracks, c.n_steps, c.n_pitches)
    mask = torch.zeros(8, c.n_tracks, c.n_steps)
    channels_last = copy.deepcopy(g).to(memory_format=torch.channels_last)
    ctx_cl = ctx.to(memory_format=torch.channels_last)

    def bf16() -> torch.Tensor:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return channels_last(z, ctx_cl, mask).float()

    with torch.no_grad():
        frozen = torch.jit.freeze(torch.jit.trace(copy.deepcopy(g), (z, ctx, mask)))
        reference = g(z, ctx, mask)
    variants = {
        "no_grad (used)": (torch.no_grad, lambda: g(z, ctx, mask)),
        "inference_mode": (torch.inference_mode, lambda: g(z, ctx, mask)),
        "channels_last": (torch.inference_mode, lambda: channels_last(z, ctx_cl, mask)),
        "TorchScript trace + freeze": (torch.no_grad, lambda: frozen(z, ctx, mask)),
        "bfloat16 autocast + channels_last (opt-in)": (torch.inference_mode, bf16),
    }
    best = dict.fromkeys(variants, float("inf"))
    diff = {}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for name, (mode, fn) in variants.items():
            with mode():
                diff[name] = float((fn() - reference).abs().max())
        for _ in range(rounds):
            for name, (mode, fn) in variants.items():
                with mode():
                    t0 = time.perf_counter()
                    fn()
                    best[name] = min(best[name], time.perf_counter() - t0)
    finally:
        torch.set_num_threads(threads)
    return [(name, best[name] * 1000, diff[name]) for name in variants]


def model_rows(names: list[str], repeat: int = 5) -> list[Row]:
    """8 variations x 8 bars (first draft, refined with the model's own reading) and one
    `pianola generate --bars 8` process for each bundled model, the models taking turns
    request by request so a change in the machine's load touches them alike. Medians; each
    request takes the generation service's thread budget (the idle cores)."""
    from statistics import median

    from studio.ml.generation import load_model

    models = {name: load_model(name) for name in names}
    for model in models.values():
        timed_request(model, 8, 8, 0)  # warm-up
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
    for k in range(repeat):
        for name, model in models.items():
            times[name].append(timed_request(model, 8, 8, 1 + k))
    rows: list[Row] = []
    base = names[0]
    base_draft = median(t[0] for t in times[base])
    base_refined = median(t[1] for t in times[base])
    for name in names:
        draft = median(t[0] for t in times[name])
        refined = median(t[1] for t in times[name])
        rounds = reading_text(models[name].voicing)  # the model's own reading
        note = f"{models[name].config.g_channels}, {rounds}, median of {repeat}"
        if name != base:
            note += f"; {draft / base_draft:.2f}× / {refined / base_refined:.2f}× {base}"
        what = f"{name}, 8 × 8 bars"
        rows.append(Row("ml", f"{what}, first draft", draft * 1000, "ms", "<= 150", note))
        rows.append(Row("ml", f"{what}, refined", refined * 1000, "ms", "<= 500", note))
    for name in names:
        row = cli_row(model=name)
        rows.append(replace(row, metric=f"{row.metric}, {name}"))
    return rows


def cli_row(repeat: int = 3, model: str = "default") -> Row:
    """Wall time of `pianola generate --bars 8` (4 variations, refined): process start,
    imports, model load, generation and the MIDI files written; best of ``repeat``."""
    import subprocess
    import sys

    script = Path(sys.executable).with_name("pianola")  # the installed command
    command = (
        [str(script)]
        if script.exists()
        else [sys.executable, "-c", "import sys; from studio.cli import main; sys.exit(main())"]
    )

    def once() -> float:
        with tempfile.TemporaryDirectory() as out:
            t0 = time.perf_counter()
            subprocess.run(
                [*command, "generate", "--bars", "8", "--model", model, "--out", out],
                check=True,
                capture_output=True,
            )
            wall = time.perf_counter() - t0
            if not list(Path(out).glob("*.mid")):
                raise RuntimeError("pianola generate wrote no MIDI file")
            return wall

    wall = min(once() for _ in range(repeat))
    return Row(
        "ml",
        "pianola generate --bars 8 (process)",
        wall * 1000,
        "ms",
        "<= 2000",
        f"start to files written, best of {repeat}",
    )


def ingestion_rates() -> dict[str, float]:
    """Files per second parsing the bundled chorales from memory (one core, warm)."""
    import io

    import pretty_midi

    files = data.find_midi_files(data.bach_dir())
    blobs = [p.read_bytes() for p in files]

    def with_pretty_midi() -> None:
        for b in blobs:
            pretty_midi.PrettyMIDI(io.BytesIO(b))

    def with_core_reader() -> None:
        for b in blobs:
            data.read_training_file(b, "bach", 4, 4)

    rates = {
        "pretty_midi": len(blobs) / best_of(with_pretty_midi, 2),
        "core": len(blobs) / best_of(with_core_reader, 3),
    }
    with tempfile.TemporaryDirectory() as tmp:
        data.scan_dataset(data.BACH_NAME, cache_dir=tmp)
        rates["warm_rescan_s"] = best_of(
            lambda: data.scan_dataset(data.BACH_NAME, cache_dir=tmp), 3
        )
    return rates


def run() -> list[Row]:
    rows: list[Row] = []
    # One thread: per-core figures, and stable on a shared machine (two torch threads
    # fighting other processes for two cores run several times slower, not faster).
    # PIANOLA_BENCH_THREADS=N measures with N threads instead.
    threads = int(os.environ.get("PIANOLA_BENCH_THREADS", "1"))
    torch.set_num_threads(threads)
    cpu = torch.device("cpu")
    peak = peak_gflops(cpu)
    rows.append(Row("ml", "CPU peak (fp32 matmul)", peak, "GFLOP/s", "", f"{threads} threads"))
    rates = ingestion_rates()
    rows.append(Row("ml", "ingest pretty_midi", rates["pretty_midi"], "files/s", "", "Bach set"))
    rows.append(
        Row(
            "ml",
            "ingest (core reader, used)",
            rates["core"],
            "files/s",
            ">= 500",
            "parse + track mapping",
        )
    )
    rows.append(
        Row(
            "ml",
            "re-scan, warm cache",
            rates["warm_rescan_s"] * 1000,
            "ms",
            "",
            f"{len(data.find_midi_files(data.bach_dir()))} files",
        )
    )
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp)
        for preset, batch, steps in (("tiny", 32, 8), ("default", 16, 3)):
            rate, gflops = training_rate(preset, "cpu", batch, steps, cache)
            rows.append(
                Row(
                    "ml",
                    f"train {preset} (CPU)",
                    rate,
                    "samples/s",
                    "",
                    f"{gflops:.1f} GFLOP/s = {gflops / peak:.0%} of peak",
                )
            )
        note = f"default preset, one batch, {threads} thread(s)"
        latency = generation_latency("cpu", 0) * 1000
        rows.append(Row("ml", "generate 16 × 8 bars, draft (CPU)", latency, "ms", "< 1000", note))
        latency = generation_latency("cpu", 2) * 1000
        rows.append(Row("ml", "generate 16 × 8 bars, refined ×2 (CPU)", latency, "ms", "", note))
        gap = cancel_gap("cpu") * 1000
        rows.append(Row("ml", "generation: longest wait for Cancel", gap, "ms", "< 200", note))
        rows.extend(interactive_rows(cache))
        from studio.ml.bundled import bundled_models

        # Each bundled model with its own reading (bach-small: one round), taking turns.
        rows.extend(model_rows([m.name for m in bundled_models()]))
        all_threads = os.cpu_count() or 1
        if all_threads != threads:
            # What an app with torch's default threads sees; on a busy shared machine this
            # can be slower than one thread.
            torch.set_num_threads(all_threads)
            latency = generation_latency("cpu", 0) * 1000
            torch.set_num_threads(threads)
            note = f"{all_threads} threads"
            rows.append(
                Row("ml", "generate 16 × 8 bars, draft (CPU)", latency, "ms", "< 1000", note)
            )
        if torch.cuda.is_available():
            gpu = torch.device("cuda")
            gpeak = peak_gflops(gpu, 8192)
            name = torch.cuda.get_device_name(0)
            rows.append(Row("ml", "GPU peak (fp32 matmul)", gpeak, "GFLOP/s", "", name))
            for preset, batch, steps in (("tiny", 256, 20), ("default", 64, 20)):
                rate, gflops = training_rate(preset, "cuda", batch, steps, cache)
                rows.append(
                    Row(
                        "ml",
                        f"train {preset} (GPU)",
                        rate,
                        "samples/s",
                        "",
                        f"{gflops:.0f} GFLOP/s = {gflops / gpeak:.0%} of fp32 peak",
                    )
                )
            rows.append(
                Row(
                    "ml",
                    "generate 16 × 8 bars, refined ×2 (GPU)",
                    generation_latency("cuda", 2) * 1000,
                    "ms",
                    "",
                    name,
                )
            )
    return rows


if __name__ == "__main__":
    import sys

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if sys.argv[1:2] == ["models"]:
        torch.set_num_threads(1)
        for row in model_rows(sys.argv[2:] or ["default"]):
            print(row)
    elif sys.argv[1:2] in (["interactive"], ["quiet"]):  # only the issue-12 speed rows
        torch.set_num_threads(1)  # `interactive [MODEL]`: a bundled model, default `default`
        with tempfile.TemporaryDirectory() as tmp:
            quiet = sys.argv[1] == "quiet"
            name = sys.argv[2] if len(sys.argv) > 2 else "default"
            for row in interactive_rows(Path(tmp), quiet_only=quiet, model_name=name):
                print(row)
    else:
        for row in run():
            print(row)
