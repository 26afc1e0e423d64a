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
Adapt a symmetric int8 Q/DQ model (TensorRT layout) to ONNX Runtime's CPU kernels, in memory.

Two rewrites, the file itself is never touched:

* ``cpu_qdq``: the file quantizes Conv inputs only (TensorRT's placement), which ORT's CPU
  provider cannot fuse (it wants ``DQ -> Conv -> Q``, ``DQ -> Sigmoid -> Q``...), so every conv
  would run in float between Q/DQ nodes. The calibrator stores the scales of ORT's own placement
  in ``metadata_props['cpu_qdq']``; :func:`apply_cpu_qdq` inserts those Q/DQ pairs. The CPU then
  runs ORT's placement (more roundings, fused kernels); TensorRT runs the file's.
* uint8 activations on x86: TensorRT needs int8 activations with zero point 0, but ORT's x86
  kernels only fuse QDQ when activations are uint8. ``q_u8 = q_s8 + 128`` with the same scale is
  the same set of values, so :func:`activations_to_uint8` is lossless.
* uint8 weights on x86 CPUs without VNNI: there ORT's uint8 x int8 conv kernels sum pairs of
  products in int16 (``vpmaddubsw``), which saturates: on an AVX2-only machine the fused YOLOv8n
  had 2.4x the score error of the same graph unfused (measured, 2026-12-01). uint8 x uint8
  kernels widen first and do not saturate, and ``w_u8 = w_s8 + 128`` is again the same values,
  so :func:`weights_to_uint8` is lossless too.
"""
from __future__ import annotations

import json
import platform

import numpy as np

CPU_QDQ_KEY = 'cpu_qdq'


def needs_uint8_activations(device: str = 'cpu') -> bool:
    """Tell whether ONNX Runtime fuses QDQ only with uint8 activations here (x86 CPUs)."""
    machine = platform.machine().lower()
    return device == 'cpu' and machine in ('x86_64', 'amd64', 'i386', 'i686', 'x86')


def has_vnni(cpuinfo: str | None = None) -> bool:
    """Tell whether the x86 CPU has VNNI (int8 dot products without int16 saturation)."""
    if cpuinfo is None:
        try:
            cpuinfo = open('/proc/cpuinfo').read()
        except OSError:
            return True  # unknown (not Linux): keep ORT's default kernels
    flags = set(cpuinfo.split())
    return bool(flags & {'avx512_vnni', 'avx_vnni', 'avx512vnni', 'avxvnni'})


def weights_to_uint8(model) -> int:
    """
    Rewrite int8 weights (initializers read by a DequantizeLinear) as uint8 ``w + 128``.

    Zero points move by 128 too, so every dequantized value is unchanged; returns weights
    changed. Makes ORT pick its uint8 x uint8 kernels (no int16 saturation without VNNI).
    """
    from onnx import numpy_helper, TensorProto

    inits = {i.name: i for i in model.graph.initializer}
    done: dict[str, str] = {}
    shifted: set[str] = set()
    changed = 0
    for node in model.graph.node:
        if node.op_type != 'DequantizeLinear' or len(node.input) < 3:
            continue
        weight, zp_name = inits.get(node.input[0]), node.input[2]
        if weight is None or zp_name not in inits or (
                weight.data_type != TensorProto.INT8 and weight.name not in shifted):
            continue
        if weight.name not in shifted:  # a weight read by two DQ nodes is shifted once
            values = numpy_helper.to_array(weight).astype(np.int16) + 128
            weight.CopyFrom(numpy_helper.from_array(values.astype(np.uint8), weight.name))
            shifted.add(weight.name)
        if zp_name not in done:
            zp = numpy_helper.to_array(inits[zp_name]).astype(np.int16) + 128
            done[zp_name] = zp_name + '_w_u8'
            model.graph.initializer.append(
                numpy_helper.from_array(zp.astype(np.uint8), done[zp_name]))
        node.input[2] = done[zp_name]
        changed += 1
    _drop_unused_initializers(model)
    return changed


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
    _drop_unused_initializers(model)
    return changed


def apply_cpu_qdq(model) -> int:
    """
    Insert the Q/DQ pairs listed in ``metadata_props['cpu_qdq']``; returns tensors rewired.

    Each entry is ``tensor: {'scale': s, 'readers': [node names]}``: those nodes then read the
    tensor through ``DQ(Q(tensor))``, reusing a pair the file already has for that tensor.
    """
    from onnx import helper, numpy_helper, TensorProto

    meta = {p.key: p.value for p in model.metadata_props}
    entries = json.loads(meta.get(CPU_QDQ_KEY) or '{}')
    if not entries:
        return 0
    nodes = list(model.graph.node)
    inits = {i.name: i for i in model.graph.initializer}
    q_of = {n.input[0]: n for n in nodes if n.op_type == 'QuantizeLinear'}
    dq_by_q = {n.input[0]: n.output[0] for n in nodes if n.op_type == 'DequantizeLinear'}
    existing = {t: (dq_by_q[q.output[0]], _scalar(numpy_helper, inits[q.input[1]]))
                for t, q in q_of.items() if q.output[0] in dq_by_q and q.input[1] in inits}
    new_pairs: dict[str, list] = {}
    target: dict[str, str] = {}
    for tensor, entry in entries.items():
        scale = float(entry['scale'])
        if tensor in existing and abs(existing[tensor][1] - scale) <= 1e-6 * scale:
            target[tensor] = existing[tensor][0]
            continue
        base = f'{tensor}_cpu'
        model.graph.initializer.extend([
            helper.make_tensor(base + '_scale', TensorProto.FLOAT, [], [scale]),
            helper.make_tensor(base + '_zp', TensorProto.INT8, [], [0])])
        new_pairs[tensor] = [
            helper.make_node('QuantizeLinear', [tensor, base + '_scale', base + '_zp'],
                             [base + '_q'], name=base + '_Q'),
            helper.make_node('DequantizeLinear', [base + '_q', base + '_scale', base + '_zp'],
                             [base + '_dq'], name=base + '_DQ')]
        target[tensor] = base + '_dq'
    by_name = {n.name: n for n in nodes}
    for tensor, entry in entries.items():
        sources = {tensor} | ({existing[tensor][0]} if tensor in existing else set())
        for reader in entry['readers']:
            node = by_name.get(reader)
            for i, name in enumerate(node.input if node is not None else []):
                if name in sources:
                    node.input[i] = target[tensor]
    graph_inputs = {i.name for i in model.graph.input}
    ordered = [n for t, pair in new_pairs.items() if t in graph_inputs for n in pair]
    for node in nodes:  # keep topological order: each pair right after its producer
        ordered.append(node)
        ordered.extend(n for out in node.output for n in new_pairs.get(out, []))
    used = {i for n in ordered for i in n.input} | {o.name for o in model.graph.output}
    while True:  # pairs whose readers all moved to a new pair
        dead = [n for n in ordered if n.op_type in ('QuantizeLinear', 'DequantizeLinear')
                and not any(o in used for o in n.output)]
        if not dead:
            break
        ordered = [n for n in ordered if n not in dead]
        used = {i for n in ordered for i in n.input} | {o.name for o in model.graph.output}
    del model.graph.node[:]
    model.graph.node.extend(ordered)
    for init in [i for i in model.graph.initializer if i.name not in used]:
        model.graph.initializer.remove(init)
    return len(entries)


def _drop_unused_initializers(model) -> None:
    """Remove the initializers no node reads any more (the zero points just replaced)."""
    used = {i for n in model.graph.node for i in n.input}
    for init in [i for i in model.graph.initializer if i.name not in used]:
        model.graph.initializer.remove(init)


def _scalar(numpy_helper, tensor) -> float:
    return float(numpy_helper.to_array(tensor).reshape(-1)[0])


def load_qdq(path):
    """Return the ONNX model at ``path`` when it has Q/DQ nodes (to re-lay), else None."""
    data = open(path, 'rb').read()
    if b'QuantizeLinear' not in data:
        return None
    import onnx

    return onnx.load_from_string(data)


def cpu_model_source(path, device: str = 'cpu') -> str | bytes:
    """
    Choose what ONNX Runtime loads for ``path`` on ``device``: the path or rewritten bytes.

    FP32 models and non-CPU devices get the path unchanged; a Q/DQ model on a CPU gets its
    ``cpu_qdq`` pairs and, on x86, uint8 activations, serialised in memory.
    """
    if device != 'cpu':
        return str(path)
    model = load_qdq(path)
    if model is None:
        return str(path)
    changed = apply_cpu_qdq(model)
    if needs_uint8_activations(device):
        changed += activations_to_uint8(model)
        if not has_vnni():
            changed += weights_to_uint8(model)
    return model.SerializeToString() if changed else str(path)
