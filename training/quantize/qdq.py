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
FP32 ONNX -> explicit INT8 Q/DQ ONNX with ONNX Runtime's static quantizer.

TensorRT (strongly typed, TensorRT 10/11) and ONNX Runtime's CPU kernels both consume this file:
symmetric int8 (zero point 0) for activations and weights, weights per output channel. The
YOLOv8 head's decode (DFL softmax/conv, reshapes, concats, the score Sigmoid, the box arithmetic)
stays float: one int8 scale cannot hold box pixels and probabilities at once. The head's last
1x1 convolutions stay float by default too (small compute, most of the accuracy loss).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
import json
import logging
from pathlib import Path
from typing import Sequence

METHODS = {'max': 'MinMax', 'entropy': 'Entropy', 'percentile': 'Percentile'}


@dataclass(frozen=True)
class QuantSettings:
    """Everything that changes the Q/DQ model besides the images (part of the calibration id)."""

    method: str = 'max'
    percentile: float = 99.999
    per_channel: bool = True
    quantize_head_convs: bool = False
    keep_float: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f'calibration method {self.method!r}; '
                             f'expected one of {sorted(METHODS)}')
        if not 0.0 < self.percentile <= 100.0:
            raise ValueError(f'percentile {self.percentile} must be in (0, 100]')

    def for_id(self) -> dict:
        d = asdict(self)
        d['keep_float'] = sorted(self.keep_float)
        if self.method != 'percentile':
            d.pop('percentile')
        return d


@dataclass
class HeadNodes:
    """The head's float-only decode nodes and its final (optionally quantized) convolutions."""

    decode: list[str] = field(default_factory=list)
    final_convs: list[str] = field(default_factory=list)


def _conv_out_channels(node, initializers: dict) -> int:
    weight = initializers.get(node.input[1]) if len(node.input) > 1 else None
    return int(weight.dims[0]) if weight is not None else 0


def head_nodes(model) -> HeadNodes:
    """
    Find the head tail from the graph: every node with no multi-channel Conv downstream.

    That is the DFL (its 1-output-channel conv, softmax, reshapes), the branch concats, the score
    Sigmoid and the box decode, plus the last conv of each box/class branch. Found by graph
    structure, not by names, so it holds for renamed or simplified exports.
    """
    nodes = list(model.graph.node)
    inits = {i.name: i for i in model.graph.initializer}
    consumers: dict[str, list[int]] = {}
    for i, node in enumerate(nodes):
        for name in node.input:
            consumers.setdefault(name, []).append(i)
    real_conv = [n.op_type == 'Conv' and _conv_out_channels(n, inits) > 1 for n in nodes]
    feeds_conv = [False] * len(nodes)
    for i in reversed(range(len(nodes))):  # ONNX nodes are topologically sorted
        feeds_conv[i] = any(real_conv[c] or feeds_conv[c]
                            for out in nodes[i].output for c in consumers.get(out, []))
    result = HeadNodes()
    for i, node in enumerate(nodes):
        if feeds_conv[i] or node.op_type == 'Constant':
            continue
        (result.final_convs if real_conv[i] else result.decode).append(node.name)
    return result


def ensure_node_names(model) -> None:
    """Give unnamed nodes stable names (the quantizer excludes nodes by name)."""
    for i, node in enumerate(model.graph.node):
        if not node.name:
            node.name = f'{node.op_type}_{i}'


def conv_layers(model, exclude: Sequence[str] = ()) -> list[str]:
    """Names of the quantizable Conv nodes (candidates for sensitivity analysis)."""
    skip = set(exclude)
    return [n.name for n in model.graph.node if n.op_type == 'Conv' and n.name not in skip]


def float_nodes(model, settings: QuantSettings) -> list[str]:
    """Nodes the quantizer must leave in float for ``settings``."""
    head = head_nodes(model)
    names = list(head.decode)
    if not settings.quantize_head_convs:
        names += head.final_convs
    names += [n for n in settings.keep_float if n not in names]
    return names


def calibration_stride(count: int, largest: int = 8) -> int | None:
    """Pick the biggest divisor of ``count`` up to ``largest`` (ORT chunks must divide it)."""
    if count <= largest:
        return None
    return max(d for d in range(1, largest + 1) if count % d == 0)


def quantize_qdq(fp32_model: str | Path, out: str | Path, reader, settings: QuantSettings,
                 cache_path: str | Path | None = None,
                 nodes_to_quantize: Sequence[str] | None = None) -> list[str]:
    """
    Write the Q/DQ model; returns the node names kept in float.

    ``cache_path`` stores the calibrated tensor ranges (JSON): later calls with the same method
    skip calibration, which makes per-layer sensitivity and ``--keep-float`` variants cheap.
    """
    import onnx

    model = onnx.load(str(fp32_model))
    ensure_node_names(model)
    excluded = float_nodes(model, settings)
    extra = {
        'ActivationSymmetric': True,   # TensorRT: zero point 0 for activations ...
        'WeightSymmetric': True,       # ... and weights
        'QuantizeBias': False,  # float bias: TensorRT fuses it; ORT fuses QLinearConv either way
    }
    stride = calibration_stride(len(reader)) if reader is not None else None
    if stride:
        extra['CalibStridedMinMax'] = stride  # ranges merged every `stride` images: bounded memory
    if settings.method == 'percentile':
        extra['CalibPercentile'] = settings.percentile
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # ORT logs "consider pre-processing" on the root logger each call
    try:
        _quantize(model, out, reader, settings, excluded, extra, cache_path, nodes_to_quantize)
    finally:
        root.setLevel(level)
    qdq = onnx.load(str(out))
    feed_float_inputs(qdq, excluded)
    onnx.save(qdq, str(out))
    return excluded


def _quantize(model, out, reader, settings, excluded, extra, cache_path,
              nodes_to_quantize) -> None:
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, quantize_static, QuantType

    quantize_static(
        model, str(out), reader,
        quant_format=QuantFormat.QDQ,
        activation_type=QuantType.QInt8,
        weight_type=QuantType.QInt8,
        per_channel=settings.per_channel,
        nodes_to_exclude=excluded,
        nodes_to_quantize=list(nodes_to_quantize) if nodes_to_quantize else None,
        calibrate_method=getattr(CalibrationMethod, METHODS[settings.method]),
        extra_options=extra,
        calibration_cache_path=str(cache_path) if cache_path else None,
    )


def feed_float_inputs(model, names: Sequence[str]) -> int:
    """
    Make float-kept nodes read the float tensor, not its int8 round trip.

    ORT quantizes a tensor at its producer when the producer is quantized, so a float-kept conv
    after a quantized SiLU would still see int8-rounded input (and TensorRT would run that edge in
    int8). Rewire such inputs from ``DQ(Q(x))`` to ``x`` and drop Q/DQ pairs nobody reads.
    Returns the number of inputs rewired.
    """
    keep = set(names)
    nodes = list(model.graph.node)
    producer = {o: n for n in nodes for o in n.output}
    rewired = 0
    for node in nodes:
        if node.name not in keep:
            continue
        for i, name in enumerate(node.input):
            dq = producer.get(name)
            if dq is None or dq.op_type != 'DequantizeLinear':
                continue
            q = producer.get(dq.input[0])
            if q is None or q.op_type != 'QuantizeLinear':
                continue
            node.input[i] = q.input[0]
            rewired += 1
    _drop_unused(model)
    return rewired


def _drop_unused(model) -> None:
    """Remove Q/DQ nodes whose outputs no node or graph output reads (repeat to a fixpoint)."""
    while True:
        used = ({i for n in model.graph.node for i in n.input}
                | {o.name for o in model.graph.output})
        dead = [n for n in model.graph.node
                if n.op_type in ('QuantizeLinear', 'DequantizeLinear')
                and not any(o in used for o in n.output)]
        if not dead:
            break
        for n in dead:
            model.graph.node.remove(n)
    used = {i for n in model.graph.node for i in n.input}
    for init in [i for i in model.graph.initializer if i.name not in used]:
        model.graph.initializer.remove(init)


def write_int8_metadata(fp32_model: str | Path, qdq_model: str | Path, calibration_id: str,
                        details: dict) -> None:
    """Carry the FP32 model's metadata over and mark the file ``precision=int8``."""
    import onnx

    from training.export import read_metadata, set_metadata

    meta = read_metadata(fp32_model)
    model = onnx.load(str(qdq_model))
    meta.update({'precision': 'int8', 'calibration_id': calibration_id,
                 'quantization': json.dumps(details, sort_keys=True)})
    set_metadata(model, meta)
    onnx.save(model, str(qdq_model))
