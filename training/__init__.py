"""
Offline pipeline: teacher training, distillation, pruning, INT8 export.

Needs torch + ultralytics.
"""
