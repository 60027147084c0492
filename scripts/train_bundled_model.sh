#!/usr/bin/env bash
# Reproduce the bundled models in one command (models/bach-default.md, "Training" and
# "The default model").
#
#   bash scripts/train_bundled_model.sh [OUT_DIR]            # DEVICE=cuda|cpu|auto (default auto)
#   LINES=0 bash scripts/train_bundled_model.sh [OUT_DIR]    # stage 1 only (bach-default.pt)
#   STAGE2=1 bash scripts/train_bundled_model.sh [OUT_DIR]   # also the stage-2 experiment
#   PHRASES=1 bash scripts/train_bundled_model.sh [OUT_DIR]  # also the phrase-end fine-tune
#   SCRATCH_PHRASES=1 bash scripts/train_bundled_model.sh [OUT_DIR]  # also phrases from scratch
#   METRE_PLANES=1 bash scripts/train_bundled_model.sh [OUT_DIR]  # also stage 1 told the bar length
#
# Stage 1 (the shipped models/bach-default.pt): the GAN from scratch on the bundled chorales,
#          1,600 steps x 64 (~4 min on one H200; ~2.3 h on a 2-core CPU, at the 12.5
#          samples/s measured there with nothing else running), written generator-only to
#          OUT_DIR/bach-default.pt. Since engine v2 the data also holds the
#          3/4 chorales, which the shipped run (4/4 only) did not see.
# Lines (the default model, models/bach-lines.pt; skipped with LINES=0): stage 1 distilled
#          into the small preset (9,000 steps x 32, the card's "Distilled model"), then
#          5,000 more steps with a quarter of the windows hiding every other beat of a voice
#          (the card's "By beats") and a fifth hiding only the steps between eighths (the
#          card's "Sixteenths"), exported with the reading the card measured. On the 2-core
#          CPU the two took 51 + 41 minutes (the second 34 minutes in stop 28); on one GPU
#          ~5 minutes (projected, not yet run), so the whole command stays within ~10
#          minutes there.
# Stage 2 (measured, not shipped; the card's "Stage 2 experiment"): fine-tuned from stage 1
#          with key conditioning (new key inputs start at zero) on every metre, 1,500 steps x
#          32 (~100 min on the 2-core CPU), written to OUT_DIR/bach-default-keys.pt.
# Phrases (the card's "Phrase ends"): fine-tuned from stage 1 with phrase-end conditioning
#          (Bach's fermatas, resources/datasets/bach_chorales/phrases.json; new inputs start
#          at zero), 1,300 steps x 32 (~50 min on the 2-core CPU), written to
#          OUT_DIR/bach-default-phrases.pt.
# Phrases from scratch (the card's "What next", for a GPU): stage 1's run with phrase-end
#          conditioning from the first step, both learning rates decaying linearly to a tenth
#          over the second half, 1,600 steps x 64 (~5 min on one H200 projected, not yet run),
#          written to OUT_DIR/bach-phrases-scratch.pt.
# Metre planes (the card's "Stop 31", for a GPU): stage 1's run with `--metre-planes` (the
#          network and its critic told each window's bar and beat length) from the first
#          step, 1,600 steps x 64 (~4 min on one H200 projected, not yet run), written to
#          OUT_DIR/bach-metre-planes.pt; then the same with the windows of every metre but
#          4/4 drawn 3 times per epoch (3/4 becomes ~34% of the windows instead of 15%),
#          written to OUT_DIR/bach-metre-planes-x3.pt. Compare them with stage 1 by
#          scripts/metre_check.py --metre 3/4 --alone.
# Measure any of them with scripts/evaluate_engine_v2.py and scripts/compute_curve.py.
#
# Interrupted (a CPU run takes hours)? Run the same command again: every stage continues
# from its newest checkpoint (`pianola train --resume`, which starts afresh where there is
# none), and a finished stage ends at once.
set -euo pipefail
out=${1:-runs/bundled}
device=${DEVICE:-auto}
py=${PYTHON:-.venv/bin/python}
common=(--data bach-chorales --preset default --device "$device" --loss wgan-gp
  --recon-weight 3 --metrics-every 0 --log-every 50 --resume)
"$py" -m studio train "${common[@]}" --out "$out/stage1" --steps 1600 --batch-size 64 \
  --checkpoint-every 200 --keep-last 2
cp "$out/stage1/generator.pt" "$out/bach-default.pt"
if [ "${LINES:-1}" = 1 ]; then
  student=(--data bach-chorales --preset small --device "$device" --distill-from "$out/bach-default.pt"
    --adv-weight 0 --fm-weight 0 --lr-decay linear --metrics-every 0 --log-every 50 --resume)
  "$py" -m studio train "${student[@]}" --out "$out/small" --steps 9000 --lr-g 1e-3 \
    --lr-decay-start 4500 --checkpoint-every 1000 --keep-last 2
  "$py" -m studio train "${student[@]}" --out "$out/lines" --steps 5000 --lr-g 3e-4 \
    --lr-decay-start 2500 --interleave-share 0.25 --offgrid-share 0.2 --init-from "$out/small" \
    --checkpoint-every 500 --keep-last 2
  "$py" scripts/export_generator.py "$out/lines" "$out/bach-lines.pt" --refine-rounds 1 \
    --beat-rounds 1 --beat-temperature 0.7 --drawn-beat-moves --no-offbeat-repeats \
    --sixteenth-temperature 0.5
fi
if [ "${STAGE2:-0}" = 1 ]; then
  "$py" -m studio train "${common[@]}" --out "$out/stage2" --steps 1500 --batch-size 32 \
    --lr-g 1e-4 --key-conditioning --init-from "$out/stage1/generator.pt" \
    --checkpoint-every 250 --keep-last 10
  "$py" scripts/export_generator.py "$out/stage2/checkpoints/step_0001500.pt" \
    "$out/bach-default-keys.pt"
fi
if [ "${PHRASES:-0}" = 1 ]; then
  "$py" -m studio train "${common[@]}" --out "$out/phrases" --steps 1300 --batch-size 32 \
    --lr-g 1e-4 --phrase-conditioning --init-from "$out/stage1/generator.pt" \
    --checkpoint-every 250 --keep-last 10
  "$py" scripts/export_generator.py "$out/phrases/checkpoints/step_0001300.pt" \
    "$out/bach-default-phrases.pt"
fi
if [ "${SCRATCH_PHRASES:-0}" = 1 ]; then
  "$py" -m studio train "${common[@]}" --out "$out/phrases-scratch" --steps 1600 \
    --batch-size 64 --phrase-conditioning --lr-decay linear --lr-decay-start 800 \
    --lr-final 0.1 --checkpoint-every 400 --keep-last 4
  cp "$out/phrases-scratch/generator.pt" "$out/bach-phrases-scratch.pt"
fi
if [ "${METRE_PLANES:-0}" = 1 ]; then
  "$py" -m studio train "${common[@]}" --out "$out/metre-planes" --steps 1600 --batch-size 64 \
    --metre-planes --checkpoint-every 200 --keep-last 2
  cp "$out/metre-planes/generator.pt" "$out/bach-metre-planes.pt"
  "$py" -m studio train "${common[@]}" --out "$out/metre-planes-x3" --steps 1600 \
    --batch-size 64 --metre-planes --oversample-metres 3 --checkpoint-every 200 --keep-last 2
  cp "$out/metre-planes-x3/generator.pt" "$out/bach-metre-planes-x3.pt"
fi
