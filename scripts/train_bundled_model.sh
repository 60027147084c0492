#!/usr/bin/env bash
# Reproduce the bundled model in one command (models/bach-default.md, "Training").
#
#   bash scripts/train_bundled_model.sh [OUT_DIR]            # DEVICE=cuda|cpu|auto (default auto)
#   STAGE2=1 bash scripts/train_bundled_model.sh [OUT_DIR]   # also the stage-2 experiment
#   PHRASES=1 bash scripts/train_bundled_model.sh [OUT_DIR]  # also the phrase-end fine-tune
#   SCRATCH_PHRASES=1 bash scripts/train_bundled_model.sh [OUT_DIR]  # also phrases from scratch
#
# Stage 1 (the shipped models/bach-default.pt): the GAN from scratch on the bundled chorales,
#          1,600 steps x 64 (~4 min on one H200, ~2 h projected on a 2-core CPU), written
#          generator-only to OUT_DIR/bach-default.pt. Since engine v2 the data also holds the
#          3/4 chorales, which the shipped run (4/4 only) did not see.
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
# Measure any of them with scripts/evaluate_engine_v2.py and scripts/compute_curve.py.
set -euo pipefail
out=${1:-runs/bundled}
device=${DEVICE:-auto}
py=${PYTHON:-.venv/bin/python}
common=(--data bach-chorales --preset default --device "$device" --loss wgan-gp
  --recon-weight 3 --metrics-every 0 --log-every 50)
"$py" -m studio train "${common[@]}" --out "$out/stage1" --steps 1600 --batch-size 64 \
  --checkpoint-every 2000 --keep-last 1
cp "$out/stage1/generator.pt" "$out/bach-default.pt"
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
