#!/usr/bin/env bash
# After a training run: ship its EMA weights, evaluate them, rewrite the model card.
#   bash scripts/finish_run.sh [run-dir] [weights-dir]
set -euo pipefail
RUN=${1:-runs/dit-emoji}
OUT=${2:-weights/dit-emoji}
python -m pipelines.train --export-only --run-dir "$RUN" --output "$OUT"
python -m pipelines.evaluate "$OUT" --write-card --run-dir "$RUN" --json "$OUT/metrics.json" \
  --comparison "${COMPARISON:-see the closing note of the training issue}" \
  --train-command "${TRAIN_COMMAND:-python -m pipelines.train --max-minutes 120 --output $OUT}"
