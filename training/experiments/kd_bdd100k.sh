#!/usr/bin/env bash
# Teacher / directly trained student / KD student on bdd100k_vru: the pipeline on the paper's
# recipe (training/recipes/bdd100k.yaml: YOLOv8-L teacher, YOLOv8-S students, 100 epochs at
# 640 px), without the prune stage. report.md in the run folder has the three models' FP32
# and INT8 figures side by side; manifest.json each stage's wall time.
# Usage: OUT=runs/kd_bdd100k training/experiments/kd_bdd100k.sh [--device 0] [--seed N]
# (epochs, sizes and KD weights: edit a copy of the recipe and set RECIPE=that copy)
set -euo pipefail
cd "$(dirname "$0")/../.."
export YOLO_OFFLINE=1 MPLBACKEND=Agg
DATA=device_data/bdd100k_vru/data.yaml
if [[ ! -f $DATA && -d ../shared/data/bdd100k_vru ]]; then
  mkdir -p device_data && cp -r ../shared/data/bdd100k_vru device_data/
fi
exec vru-train pipeline "${RECIPE:-training/recipes/bdd100k.yaml}" --data "$DATA" \
  --out "${OUT:-runs/kd_bdd100k}" --stages teacher student distill export calibrate evaluate "$@"
