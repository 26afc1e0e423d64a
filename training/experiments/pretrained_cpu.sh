#!/usr/bin/env bash
# The papers' table from pretrained weights on a 2-core CPU, in one resumable call:
#   bash training/experiments/pretrained_cpu.sh
# Runs training/recipes/pretrained_cpu.yaml into $OUT (default runs/pretrained_cpu; rerun the
# same command to continue an interrupted run, finished stages are skipped), then writes the
# table with the three questions answered to $DOC (default
# docs/results/<today>-pretrained-cpu.md) and its plot beside it.
set -euo pipefail
cd "$(dirname "$0")/../.."
export YOLO_OFFLINE=1 MPLBACKEND=Agg
OUT=${OUT:-runs/pretrained_cpu}
DOC=${DOC:-docs/results/$(date +%F)-pretrained-cpu.md}
vru-train pipeline training/recipes/pretrained_cpu.yaml --out "$OUT"
python -m training.experiments.pretrained_table "$OUT" --doc "$DOC" \
  --command "bash training/experiments/pretrained_cpu.sh"
