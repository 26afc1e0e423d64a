#!/usr/bin/env bash
# Teacher / student / KD-student comparison on bdd100k_vru; see kd_bdd100k.py for the options.
# Usage: training/experiments/kd_bdd100k.sh [--smoke] [--epochs N] [--device 0] ...
set -euo pipefail
cd "$(dirname "$0")/../.."
export YOLO_OFFLINE=1
DATA=device_data/bdd100k_vru/data.yaml
if [[ ! -f $DATA && -d ../shared/data/bdd100k_vru ]]; then
  mkdir -p device_data && cp -r ../shared/data/bdd100k_vru device_data/
fi
exec python -m training.experiments.kd_bdd100k --data "$DATA" --out "${OUT:-runs/kd_bdd100k}" "$@"
