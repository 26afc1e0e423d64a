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
The extra activation Q/DQ that ONNX Runtime's CPU kernels need, stored in the TensorRT file.

The file's Q/DQ follow TensorRT's placement (Conv inputs only), which ORT's CPU provider cannot
fuse: it fuses ``DQ -> Conv -> Q``, ``DQ -> Sigmoid -> Q`` and so on, so a Conv whose output is
not quantized runs in float between Q/DQ nodes (slower than FP32, measured). The calibrator
already has the range of every tensor, so it also quantizes the model with ORT's own placement
and records, per tensor, the scale and the nodes that read it through Q/DQ there but in float
here (``metadata_props['cpu_qdq']``). The ORT backend re-inserts those pairs in memory on a CPU
(``vru_detector.backends.qdq_layout``); TensorRT never sees them.
"""
from __future__ import annotations

import json

CPU_QDQ_KEY = 'cpu_qdq'


def activation_qdq(model) -> dict[str, tuple[float, set[str]]]:
    """Activation tensor -> (scale, names of the nodes that read it through Q/DQ)."""
    from onnx import numpy_helper

    inits = {i.name: i for i in model.graph.initializer}
    nodes = list(model.graph.node)
    quantized: dict[str, tuple[float, set[str]]] = {}
    for q in nodes:
        if q.op_type != 'QuantizeLinear' or q.input[0] in inits:
            continue
        scale = float(numpy_helper.to_array(inits[q.input[1]]).reshape(-1)[0])
        dq_outs = {dq.output[0] for dq in nodes
                   if dq.op_type == 'DequantizeLinear' and dq.input[0] == q.output[0]}
        readers = {n.name for n in nodes if dq_outs & set(n.input)}
        quantized[q.input[0]] = (scale, readers)
    return quantized


def cpu_requantization(model, ort_model) -> dict[str, dict]:
    """
    Find what ``ort_model`` (ORT placement) quantizes and ``model`` (TensorRT's) reads otherwise.

    Returns ``{tensor: {'scale': s, 'readers': [node, ...]}}``: the nodes that read the tensor
    in float in ``model``, or through a Q/DQ of another scale (ORT gives a Split's outputs its
    input's scale; the TensorRT placement calibrates each), so the CPU runs ORT's graph exactly.
    """
    float_readers: dict[str, set[str]] = {}
    for n in model.graph.node:
        for name in n.input:
            float_readers.setdefault(name, set()).add(n.name)
    own = activation_qdq(model)
    extra = {}
    for tensor, (scale, readers) in activation_qdq(ort_model).items():
        other = readers & float_readers.get(tensor, set())
        if tensor in own and abs(own[tensor][0] - scale) > 1e-6 * scale:
            other |= readers & own[tensor][1]
        if other:
            extra[tensor] = {'scale': scale, 'readers': sorted(other)}
    return extra


def store_cpu_requantization(model, ort_model) -> int:
    """Write :func:`cpu_requantization` into ``model``'s metadata; returns tensors recorded."""
    from training.export import set_metadata

    extra = cpu_requantization(model, ort_model)
    set_metadata(model, {CPU_QDQ_KEY: json.dumps(extra, sort_keys=True)})
    return len(extra)
