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
Re-express a symmetric int8 Q/DQ model with uint8 activations, losslessly, for x86 CPUs.

TensorRT needs int8 activations with zero point 0. ONNX Runtime's x86 CPU kernels only fuse
``DQ -> Conv -> Q`` into ``QLinearConv`` when activations are uint8; with int8 activations it
runs every conv in float between Q/DQ pairs (slower than FP32). ``q_u8 = q_s8 + 128`` with the
same scale is the same set of values, so the one Q/DQ file serves both: TensorRT reads it as is,
the ONNX Runtime backend converts it in memory at load time.
"""
from __future__ import annotations

import platform

import numpy as np


def needs_uint8_activations(device: str = 'cpu') -> bool:
    """Tell whether ONNX Runtime fuses QDQ only with uint8 activations here (x86 CPUs)."""
    machine = platform.machine().lower()
    return device == 'cpu' and machine in ('x86_64', 'amd64', 'i386', 'i686', 'x86')


def activations_to_uint8(model) -> int:
    """
    Rewrite activation Q/DQ zero points int8 0 -> uint8 128 in place; returns nodes changed.

    Weights (initializers read by a DequantizeLinear) keep int8, which is what the ``u8s8``
    kernels expect. Non-symmetric int8 activations (zero point != 0) are left alone.
    """
    from onnx import helper, numpy_helper, TensorProto

    inits = {i.name: i for i in model.graph.initializer}
    converted: dict[str, str] = {}
    changed = 0
    for node in model.graph.node:
        if node.op_type not in ('QuantizeLinear', 'DequantizeLinear') or len(node.input) < 3:
            continue
        if node.op_type == 'DequantizeLinear' and node.input[0] in inits:
            continue  # a weight
        zp_name = node.input[2]
        zp = inits.get(zp_name)
        if zp is None or zp.data_type != TensorProto.INT8:
            continue
        values = numpy_helper.to_array(zp)
        if values.size != 1 or values.reshape(-1)[0] != 0:
            continue
        if zp_name not in converted:
            new_name = zp_name + '_u8'
            model.graph.initializer.append(helper.make_tensor(
                new_name, TensorProto.UINT8, list(values.shape),
                np.full(values.shape, 128, np.uint8).reshape(-1).tolist()))
            converted[zp_name] = new_name
        node.input[2] = converted[zp_name]
        changed += 1
    used = {i for n in model.graph.node for i in n.input}
    for init in [i for i in model.graph.initializer if i.name not in used]:
        model.graph.initializer.remove(init)
    return changed


def cpu_model_source(path, device: str = 'cpu') -> str | bytes:
    """
    Choose what ONNX Runtime loads for ``path`` on ``device``: the path or rewritten bytes.

    FP32 models and non-x86 CPUs get the path unchanged; a symmetric int8 Q/DQ model on an x86
    CPU gets its uint8-activation twin, serialised in memory (the file is not touched).
    """
    if not needs_uint8_activations(device):
        return str(path)
    data = open(path, 'rb').read()
    if b'QuantizeLinear' not in data:
        return str(path)
    import onnx

    model = onnx.load_from_string(data)
    return model.SerializeToString() if activations_to_uint8(model) else str(path)
