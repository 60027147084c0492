#!/usr/bin/env bash
# Train several `default` configurations side by side on one GPU, evaluate each on the
# held-out chorales, and keep the best. This is how the bundled model was trained (see
# models/bach-default.md). Usage: bash scripts/gpu_sweep.sh SECONDS_PER_RUN OUT_DIR
#
# A short calibration (all runs at once, as in the real sweep) measures seconds per step,
# so that each run gets a step count that fits the budget: the adversarial warm-up is a
# share of --steps, so a run must know its length in advance. A timeout stops a run that
# overruns with SIGINT, which makes the trainer save a final checkpoint and generator.
set -u
budget=${1:-420}
out=${2:-runs/sweep}
mkdir -p "$out"
export PYTHONUNBUFFERED=1
py=${PYTHON:-python3}
runs=${RUNS_DIR:-/tmp/pianola-sweep}
cache=/tmp/pianola-cache
read -r -a names <<<"${NAMES:-A B C D}"
declare -A flags=(
  [A]="--batch-size 64"
  [B]="--batch-size 64 --recon-weight 3"
  [C]="--batch-size 64 --loss wgan-gp"
  [D]="--batch-size 128 --lr-g 4e-4 --lr-d 4e-4"
  [E]="--batch-size 64 --loss wgan-gp --recon-weight 3"
  [F]="--batch-size 64 --loss wgan-gp --lr-g 1e-4 --lr-d 1e-4"
)
train() {  # name steps seconds outdir
  local name=$1 steps=$2 seconds=$3 dir=$4
  # shellcheck disable=SC2086
  timeout -s INT "$seconds" $py -m studio train --data bach-chorales --out "$dir/$name" \
    --preset "${PRESET:-default}" --device "${DEVICE:-cuda}" --steps "$steps" \
    --checkpoint-every 2000 --metrics-every 1000 --log-every 50 --keep-last 1 \
    --cache-dir "$cache" ${flags[$name]} >"$out/$name.log" 2>&1
}
# Scan once so the parallel runs share the dataset cache.
$py -m studio train --data bach-chorales --out "$runs/scan" --dry-run --cache-dir "$cache" \
  >"$out/dryrun.txt" 2>&1
calib=${CALIB_STEPS:-100}
if [ -n "${STEPS:-}" ]; then  # known step time: skip the calibration
  steps=$STEPS
else
for name in "${names[@]}"; do train "$name" "$calib" 600 "$runs/calib" & done
wait
# Slowest run's seconds per step (the `elapsed` field of the last logged step).
sec_per_step=$($py - "$runs/calib" "$calib" <<'PY'
import json, sys
from pathlib import Path
# Measured between the first and last logged steps, so start-up work is left out.
worst = 0.0
for log in Path(sys.argv[1]).glob("*/metrics.jsonl"):
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    steps = [r for r in rows if r.get("type") == "step"]
    if len(steps) >= 2 and steps[-1]["step"] > steps[0]["step"]:
        a, b = steps[0], steps[-1]
        worst = max(worst, (b["elapsed"] - a["elapsed"]) / (b["step"] - a["step"]))
    elif steps:
        worst = max(worst, steps[-1]["elapsed"] / steps[-1]["step"])
print(worst or 1.0)
PY
)
steps=$($py -c "print(max(200, int(0.92 * $budget / $sec_per_step)))")
echo "calibration: $sec_per_step s/step with ${#names[@]} runs at once -> $steps steps" \
  | tee "$out/calibration.txt"
fi
for name in "${names[@]}"; do train "$name" "$steps" "$((budget + 60))" "$runs" & done
wait
for name in "${names[@]}"; do
  $py -m studio evaluate --model "$runs/$name" --samples "${SAMPLES:-500}" --json \
    >"$out/$name.eval.json" 2>"$out/$name.eval.err" &
done
wait
$py scripts/score_runs.py "$out"/*.eval.json | tee "$out/scores.txt"
best=$(awk '/^BEST/ {print $2}' "$out/scores.txt")
if [ -n "$best" ]; then
  cp "$runs/$best/generator.pt" "$out/best_generator.pt"
  cp "$runs/$best/metrics.jsonl" "$out/best_metrics.jsonl"
  echo "$best ${flags[$best]} --steps $steps" >"$out/best.txt"
fi
