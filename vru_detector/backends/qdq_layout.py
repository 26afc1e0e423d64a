"""Re-express a symmetric int8 Q/DQ model with uint8 activations, losslessly, for x86 CPUs.

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
    """True where ONNX Runtime fuses QDQ only with uint8 activations (x86 CPUs)."""
    machine = platform.machine().lower()
    return device == 'cpu' and machine in ('x86_64', 'amd64', 'i386', 'i686', 'x86')


def activations_to_uint8(model) -> int:
    """Rewrite activation Q/DQ zero points int8 0 -> uint8 128 in place; returns nodes changed.

    Weights (initializers read by a DequantizeLinear) keep int8, which is what the ``u8s8``
    kernels expect. Non-symmetric int8 activations (zero point != 0) are left alone.
    """
    from onnx import TensorProto, helper, numpy_helper

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
