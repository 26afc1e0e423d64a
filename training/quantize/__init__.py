"""INT8 post-training quantization: calibration set, Q/DQ ONNX, per-layer sensitivity."""
