#!/usr/bin/env bash
# Reproduce models/bach-default.pt in one command (models/bach-default.md, "Training").
#
#   bash scripts/train_bundled_model.sh [OUT_DIR]        # DEVICE=cuda|cpu|auto (default auto)
#
# Stage 1: the GAN from scratch on the bundled chorales (1,600 steps × 64; ~4 min on one H200,
#          ~2 h projected on a 2-core CPU).
# Stage 2: fine-tuned from stage 1's generator with key conditioning (the new key inputs start
#          at zero) on every metre, a 1,500-step schedule at batch 32 whose step-STAGE2_STEP
#          checkpoint is the shipped model (~1-2 min on one GPU; the shipped one was run on
#          this project's 2-core CPU: see the model card).
# Then the generator-only file is written to OUT_DIR/bach-default.pt; copy it to models/ to
# ship it, and measure it with scripts/evaluate_engine_v2.py and scripts/compute_curve.py.
set -euo pipefail
out=${1:-runs/bundled}
device=${DEVICE:-auto}
py=${PYTHON:-.venv/bin/python}
stage2_step=${STAGE2_STEP:-1000}
common=(--data bach-chorales --preset default --device "$device" --loss wgan-gp
  --recon-weight 3 --metrics-every 0 --log-every 50)
"$py" -m studio train "${common[@]}" --out "$out/stage1" --steps 1600 --batch-size 64 \
  --checkpoint-every 2000 --keep-last 1
"$py" -m studio train "${common[@]}" --out "$out/stage2" --steps 1500 --batch-size 32 \
  --lr-g 1e-4 --key-conditioning --init-from "$out/stage1/generator.pt" \
  --checkpoint-every 250 --keep-last 10
"$py" scripts/export_generator.py "$out/stage2/checkpoints/step_$(printf %07d "$stage2_step").pt" \
  "$out/bach-default.pt"
