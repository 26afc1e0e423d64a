"""Offline pipeline: teacher training, distillation, pruning, INT8 export (needs torch + ultralytics)."""
