# Copyright 2026 vru_detector maintainers
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""
What precision a TensorRT engine really runs in, decided from the ONNX and the TensorRT version.

Strongly typed networks (TensorRT >= 10 with Q/DQ, every network on TensorRT 11) take each
layer's type from the graph: int8 where Q/DQ say so, the ONNX's float type elsewhere, and no
builder flag changes that. So an FP32 ONNX gives FP32 float layers even when FP16 was asked for,
and the sidecar must say so instead of repeating the ONNX metadata. No TensorRT needed here.
"""
from __future__ import annotations

from pathlib import Path


def onnx_float_precision(onnx_path: Path) -> str:
    """Return ``fp16`` when the graph computes in float16 (its weights are), else ``fp32``."""
    import onnx

    graph = onnx.load(str(onnx_path), load_external_data=False).graph
    half = onnx.TensorProto.FLOAT16
    return 'fp16' if any(i.data_type == half for i in graph.initializer) else 'fp32'


def engine_precision(major: int, qdq: bool, onnx_float: str, fp16: bool
                     ) -> tuple[bool, str, str, str]:
    """
    Decide how to build and what the engine will really be.

    Returns (strongly typed, precision, float precision, note). Strongly typed builds (Q/DQ on
    TensorRT 10, everything on 11) take precision from the graph: the int8 parts from the
    Q/DQ nodes, the rest from the ONNX float type, and the FP16 flag is not used. Weakly typed
    builds (plain ONNX on TensorRT 10, 8.6) allow fp16 kernels with the FP16 flag.
    """
    strongly_typed = major >= 11 or (major >= 10 and qdq)
    note = ''
    if strongly_typed:
        float_precision = onnx_float
        if fp16 and onnx_float != 'fp16':
            note = ('strongly typed build of an FP32 ONNX: the float layers run in FP32 '
                    '(for FP16 export with `vru-train export --half`)')
    else:
        float_precision = 'fp16' if (fp16 or qdq or onnx_float == 'fp16') else 'fp32'
    precision = 'int8' if qdq else float_precision
    return strongly_typed, precision, float_precision, note
