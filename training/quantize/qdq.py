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

Placement (``QuantSettings.placement``): ``tensorrt`` (default) follows TensorRT's Q/DQ
recommendations: quantize the inputs of every Conv (activation + weight) and the residual input
of an ``Add``, never a Conv's output, so a Conv+SiLU (Conv, Sigmoid, Mul) is one fused int8
kernel whose result is rounded once, at the next Conv's input. ``onnxruntime`` is ORT's default
(every Conv, Sigmoid, Mul, Add, Concat... output quantized: a Conv+SiLU is rounded three times),
which ORT's CPU kernels fuse best; kept for CPU-only deployments and for comparison.

Ranges (``QuantSettings.method``) come from ONNX Runtime's own calibrators (``max``: MinMax,
``percentile``: Percentile on a 2048-bin histogram of ``|x|``, ``entropy``: Entropy, TensorRT's
KL-divergence threshold search). :func:`collect_ranges` creates them with ``create_calibrator``
rather than through ``quantize_static``, which passes no bin counts: its Entropy default (128
bins, 128 quantized bins) has a single candidate threshold, the maximum, so it is min-max again.
"""
from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field
import json
import logging
from pathlib import Path
import tempfile
from typing import Sequence

METHODS = {'max': 'MinMax', 'entropy': 'Entropy', 'percentile': 'Percentile'}
PLACEMENTS = ('tensorrt', 'onnxruntime')
# Entropy: histogram bins over [-max|x|, max|x|] and the quantized bins the KL search compares
# (TensorRT: 128 quantized bins). ORT's search is a Python loop, quadratic in the bin count:
# 512 bins (192 candidate thresholds per tensor) take seconds per model, 2048 many minutes.
ENTROPY_BINS = 512
ENTROPY_QUANTIZED_BINS = 128


@dataclass(frozen=True)
class QuantSettings:
    """Everything that changes the Q/DQ model besides the images (part of the calibration id)."""

    method: str = 'entropy'  # measured: docs/results/2026-12-03-int8-calibration.md
    percentile: float = 99.999
    per_channel: bool = True
    quantize_head_convs: bool = False
    keep_float: tuple[str, ...] = ()
    placement: str = 'tensorrt'

    def __post_init__(self) -> None:
        if self.placement not in PLACEMENTS:
            raise ValueError(f'Q/DQ placement {self.placement!r}; expected one of {PLACEMENTS}')
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


def silu_block(model, conv: str) -> list[str]:
    """
    ``conv`` and the Sigmoid and Mul of its SiLU (``x * sigmoid(x)``), when it has one.

    A conv kept in float must keep its activation in float too, or the activation's Q/DQ puts
    the int8 rounding right back on the conv's output.
    """
    nodes = list(model.graph.node)
    by_name = {n.name: n for n in nodes}
    node = by_name.get(conv)
    if node is None or not node.output:
        return [conv]
    out = node.output[0]
    readers = [n for n in nodes if out in n.input]
    sig = [n for n in readers if n.op_type == 'Sigmoid']
    mul = [n for n in readers if n.op_type == 'Mul' and sig and sig[0].output[0] in n.input]
    return [conv] + ([sig[0].name, mul[0].name] if sig and mul else [])


def float_nodes(model, settings: QuantSettings) -> list[str]:
    """Nodes the quantizer must leave in float for ``settings`` (kept convs with their SiLU)."""
    head = head_nodes(model)
    names = list(head.decode)
    if not settings.quantize_head_convs:
        names += head.final_convs
    for conv in settings.keep_float:
        names += [n for n in silu_block(model, conv) if n not in names]
    return names


def calibration_stride(count: int, largest: int = 8) -> int | None:
    """Pick the biggest divisor of ``count`` up to ``largest`` (ORT chunks must divide it)."""
    if count <= largest:
        return None
    return max(d for d in range(1, largest + 1) if count % d == 0)


def quantize_qdq(fp32_model: str | Path, out: str | Path, reader, settings: QuantSettings,
                 cache_path: str | Path | None = None,
                 nodes_to_quantize: Sequence[str] | None = None,
                 cpu_layout: bool = True) -> list[str]:
    """
    Write the Q/DQ model; returns the node names kept in float.

    ``cache_path`` stores the calibrated tensor ranges (JSON): later calls with the same method
    skip calibration, which makes per-layer sensitivity and ``--keep-float`` variants cheap.
    ``cpu_layout`` (TensorRT placement only) also records the Q/DQ ORT's CPU kernels need
    (``cpu_layout.py``); it costs a second quantize pass from the same ranges.
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
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # ORT logs "consider pre-processing" on the root logger each call
    try:
        with tempfile.TemporaryDirectory(prefix='vru-qdq-') as tmp:
            cache = Path(cache_path) if cache_path else Path(tmp) / 'ranges.json'
            if not cache.is_file():  # ranges merged every `stride` images: bounded memory
                stride = calibration_stride(len(reader)) if reader is not None else None
                collect_ranges(model, reader, settings, cache, stride, Path(tmp))
            qdq = _place(model, out, reader, settings, excluded, extra, cache, nodes_to_quantize,
                         cpu_layout, Path(tmp))
    finally:
        root.setLevel(level)
    onnx.save(qdq, str(out))
    return excluded


def collect_ranges(model, reader, settings: QuantSettings, cache: Path, stride: int | None,
                   tmp: Path) -> None:
    """
    Calibrate every float tensor with ONNX Runtime's calibrator for ``settings.method``.

    Writes ORT's own range cache (``save_tensors_data``), which ``quantize_static`` then reads
    for both placements. Images are fed ``stride`` at a time and merged (min/max or histograms),
    as ``quantize_static``'s ``CalibStridedMinMax`` does: bounded memory with 512 images.
    """
    import onnx
    from onnxruntime.quantization.calibrate import (CalibrationMethod, create_calibrator,
                                                    save_tensors_data)
    from onnxruntime.quantization.registry import QDQRegistry, QLinearOpsRegistry

    if reader is None:
        raise ValueError('no calibration images and no cached ranges to quantize from')
    options: dict = {}
    if settings.method == 'percentile':
        options = {'percentile': settings.percentile}
    elif settings.method == 'entropy':
        options = {'num_bins': ENTROPY_BINS, 'num_quantized_bins': ENTROPY_QUANTIZED_BINS}
    source = tmp / 'calibrate_input.onnx'
    onnx.save(model, str(source))
    calibrator = create_calibrator(
        source, sorted(set(QLinearOpsRegistry) | set(QDQRegistry)),  # quantize_static's op types
        augmented_model_path=str(tmp / 'augmented.onnx'),
        calibrate_method=getattr(CalibrationMethod, METHODS[settings.method]),
        extra_options=options)
    if hasattr(reader, 'rewind'):
        reader.rewind()
    if stride:
        for start in range(0, len(reader), stride):
            reader.set_range(start_index=start, end_index=start + stride)
            calibrator.collect_data(reader)
    else:
        calibrator.collect_data(reader)
    save_tensors_data(calibrator.compute_data(), cache)


def _place(model, out, reader, settings, excluded, extra, cache, nodes_to_quantize, cpu_layout,
           tmp):
    """
    Quantize with the requested placement; returns the Q/DQ model.

    Both placements read the same cached ranges (:func:`collect_ranges`, every tensor of ORT's
    quantizable op types). The ORT-placement pass runs when that placement is asked for or its
    Q/DQ are recorded for the CPU (``cpu_layout``).
    """
    import onnx

    ort_settings = QuantSettings(**{**asdict(settings), 'placement': 'onnxruntime'})
    ort_model = None
    if settings.placement == 'onnxruntime' or cpu_layout:
        ort_out = out if settings.placement == 'onnxruntime' else tmp / 'ort_placement.onnx'
        _quantize(model, ort_out, reader, ort_settings, excluded, extra, cache,
                  nodes_to_quantize)
        ort_model = onnx.load(str(ort_out))
        feed_float_inputs(ort_model, excluded)
        if settings.placement == 'onnxruntime':
            return ort_model
    _quantize(model, out, reader, settings, excluded, extra, cache, nodes_to_quantize)
    qdq = onnx.load(str(out))
    feed_float_inputs(qdq, excluded)
    quantize_residual_inputs(qdq, excluded)
    if cpu_layout and ort_model is not None:
        from .cpu_layout import store_cpu_requantization

        store_cpu_requantization(qdq, ort_model)
    return qdq


def _quantize(model, out, reader, settings, excluded, extra, cache_path,
              nodes_to_quantize) -> None:
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, quantize_static, QuantType

    op_types = None
    if settings.placement == 'tensorrt':
        op_types = ['Conv']  # Conv inputs only; Conv outputs stay float (fused with SiLU)
        extra = {**extra, 'OpTypesToExcludeOutputQuantization': ['Conv']}
    if reader is not None and hasattr(reader, 'rewind'):
        reader.rewind()
    quantize_static(
        copy.deepcopy(model), str(out), reader,
        quant_format=QuantFormat.QDQ,
        activation_type=QuantType.QInt8,
        weight_type=QuantType.QInt8,
        per_channel=settings.per_channel,
        op_types_to_quantize=op_types,
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


def quantize_residual_inputs(model, excluded: Sequence[str] = ()) -> int:
    """
    Read the residual input of each ``Add`` through its existing Q/DQ (TensorRT's placement).

    TensorRT fuses ``Conv -> SiLU -> Add`` into the conv kernel when the Add's other (residual)
    input is int8. The residual is the input that other nodes read too and that is already
    quantized for a conv; the fused branch is read by this Add only. Returns Adds rewired.
    """
    skip = set(excluded)
    nodes = list(model.graph.node)
    dq_of = {}
    for q in nodes:
        if q.op_type != 'QuantizeLinear':
            continue
        for dq in nodes:
            if dq.op_type == 'DequantizeLinear' and dq.input[0] == q.output[0]:
                dq_of.setdefault(q.input[0], dq.output[0])
    readers: dict[str, int] = {}
    for n in nodes:
        for name in n.input:
            readers[name] = readers.get(name, 0) + 1
    rewired = 0
    for node in nodes:
        if node.op_type != 'Add' or node.name in skip or len(node.input) != 2:
            continue
        a, b = node.input
        for residual, branch in ((a, b), (b, a)):
            if residual in dq_of and branch not in dq_of and readers.get(branch) == 1:
                node.input[list(node.input).index(residual)] = dq_of[residual]
                rewired += 1
                break
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
