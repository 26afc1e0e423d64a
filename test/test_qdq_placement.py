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

"""Where the Q/DQ nodes go: TensorRT's placement, kept-float blocks, the CPU layout."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto
import onnxruntime as ort
import pytest

SIZE = 16


def _conv_silu(nodes, inits, rng, name, src, cin, cout, k=3, act=True) -> str:
    weight = rng.normal(0, (2.0 / (cin * k * k)) ** 0.5, (cout, cin, k, k)).astype(np.float32)
    inits += [numpy_helper.from_array(weight, f'{name}.w'),
              numpy_helper.from_array(rng.normal(0, 0.1, cout).astype(np.float32), f'{name}.b')]
    nodes.append(helper.make_node('Conv', [src, f'{name}.w', f'{name}.b'], [f'{name}.out'],
                                  name=name, pads=[k // 2] * 4))
    if not act:
        return f'{name}.out'
    nodes.append(helper.make_node('Sigmoid', [f'{name}.out'], [f'{name}.sig'], name=f'{name}.Sig'))
    nodes.append(helper.make_node('Mul', [f'{name}.out', f'{name}.sig'], [f'{name}.silu'],
                                  name=f'{name}.Mul'))
    return f'{name}.silu'


def tiny_model(path: Path) -> Path:
    """
    Build YOLOv8's patterns in miniature (stem, residual bottleneck, upsample, 1x1 head conv).

    The YOLOv8 pattern in miniature: ``a = silu(conv0(x)); d = a + silu(conv2(silu(conv1(a))))``.
    """
    rng = np.random.default_rng(0)
    nodes: list = []
    inits: list = []
    a = _conv_silu(nodes, inits, rng, 'conv0', 'images', 3, 8)
    b = _conv_silu(nodes, inits, rng, 'conv1', a, 8, 8)
    c = _conv_silu(nodes, inits, rng, 'conv2', b, 8, 8)
    nodes.append(helper.make_node('Add', [a, c], ['res'], name='res.Add'))
    e = _conv_silu(nodes, inits, rng, 'conv3', 'res', 8, 8)
    inits.append(numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), 'up.scales'))
    nodes.append(helper.make_node('Resize', [e, '', 'up.scales'], ['up'], name='up.Resize',
                                  mode='nearest'))  # an empty (optional) input, as exported
    out = _conv_silu(nodes, inits, rng, 'head', 'up', 8, 6, k=1, act=False)
    graph = helper.make_graph(
        nodes, 'tiny', [helper.make_tensor_value_info('images', TensorProto.FLOAT,
                                                      [1, 3, SIZE, SIZE])],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, [1, 6, 2 * SIZE, 2 * SIZE])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


class Reader:
    """A calibration data reader over a few fixed random images."""

    def __init__(self, n: int = 8) -> None:
        rng = np.random.default_rng(1)
        self.data = [rng.random((1, 3, SIZE, SIZE), dtype=np.float32) for _ in range(n)]
        self.rewind()

    def get_next(self):
        return next(self._it, None)

    def rewind(self) -> None:
        self._it = iter({'images': x} for x in self.data)

    def set_range(self, start: int, end: int) -> None:
        self._it = iter({'images': x} for x in self.data[start:end])

    def __len__(self) -> int:
        return len(self.data)


def _quantize(tmp_path: Path, name: str, **settings) -> tuple[object, Path]:
    from training.quantize.qdq import quantize_qdq, QuantSettings

    out = tmp_path / f'{name}.onnx'
    quantize_qdq(tiny_model(tmp_path / 'tiny.onnx'), out, Reader(), QuantSettings(**settings),
                 tmp_path / 'ranges.json')
    return onnx.load(str(out)), out


def _graph(model):
    producer = {o: n for n in model.graph.node for o in n.output}
    readers: dict[str, list] = {}
    for n in model.graph.node:
        for i in n.input:
            readers.setdefault(i, []).append(n)
    return {n.name: n for n in model.graph.node}, producer, readers


def _ops(nodes) -> list[str]:
    return sorted(n.op_type for n in nodes)


@pytest.mark.parametrize('placement', [None, 'onnxruntime'])
def test_keep_float_keeps_the_whole_conv_silu_block_in_float(tmp_path, placement):
    extra = {'placement': placement} if placement else {}
    model, _ = _quantize(tmp_path, 'kept', keep_float=('conv1',), **extra)
    nodes, producer, readers = _graph(model)
    conv = nodes['conv1']
    assert all(producer.get(i) is None or producer[i].op_type != 'DequantizeLinear'
               for i in conv.input)  # float input, float weight
    # the conv's output reaches its SiLU unquantized ...
    assert _ops(readers[conv.output[0]]) == ['Mul', 'Sigmoid']
    assert _ops(readers[nodes['conv1.Sig'].output[0]]) == ['Mul']
    # ... and the SiLU computes in float: its Mul reads float tensors only
    assert {producer[i].op_type for i in nodes['conv1.Mul'].input} == {'Conv', 'Sigmoid'}
    # the neighbours are still int8 (the next conv quantizes its own input)
    assert producer[nodes['conv2'].input[0]].op_type == 'DequantizeLinear'


def test_tensorrt_placement_quantizes_conv_inputs_and_rounds_conv_silu_once(tmp_path):
    model, _ = _quantize(tmp_path, 'trt')
    nodes, producer, readers = _graph(model)
    inits = {i.name for i in model.graph.initializer}
    for name in ('conv0', 'conv1', 'conv2', 'conv3'):
        conv = nodes[name]
        act, weight = (producer[i] for i in conv.input[:2])
        assert act.op_type == weight.op_type == 'DequantizeLinear', name
        assert weight.input[0] in inits  # int8 weight, per output channel
        # the conv output feeds its SiLU directly: no Q/DQ inside Conv -> Sigmoid -> Mul
        assert _ops(readers[conv.output[0]]) == ['Mul', 'Sigmoid'], name
        assert _ops(readers[nodes[f'{name}.Sig'].output[0]]) == ['Mul'], name
    quantized = [producer.get(q.input[0]) for q in model.graph.node
                 if q.op_type == 'QuantizeLinear' and q.input[0] not in inits]
    # one rounding per Conv+SiLU, at the next conv's input: the image, conv0's SiLU (read by
    # conv1 and the skip), conv1's SiLU (conv2) and the residual sum (conv3); conv2's SiLU
    # stays float into the Add, conv3's into the float head conv
    assert sorted('images' if p is None else p.name for p in quantized) == [
        'conv0.Mul', 'conv1.Mul', 'images', 'res.Add']
    # residual Add: the skip input is read int8 (fuses into conv2's kernel), the branch float
    add = nodes['res.Add']
    assert [producer[i].op_type for i in add.input] == ['DequantizeLinear', 'Mul']
    assert producer['head.out'].op_type == 'Conv'  # head conv stays float
    assert producer[nodes['head'].input[0]].op_type == 'Resize'


def test_onnxruntime_placement_is_still_available_for_cpu_only_use(tmp_path):
    model, _ = _quantize(tmp_path, 'ort', placement='onnxruntime')
    _, producer, readers = _graph(model)
    assert _ops(readers['conv1.out']) == ['QuantizeLinear']  # ORT's default: 3 roundings
    with pytest.raises(ValueError, match='placement'):
        _quantize(tmp_path, 'bad', placement='tensor-rt')


def test_cpu_layout_runs_the_onnxruntime_placement_from_the_tensorrt_file(tmp_path):
    from vru_detector.backends.qdq_layout import apply_cpu_qdq, cpu_model_source

    _, trt_path = _quantize(tmp_path, 'trt')
    _, ort_path = _quantize(tmp_path, 'ort', placement='onnxruntime')
    x = Reader(3).data[2]
    run = (lambda src: ort.InferenceSession(src, providers=['CPUExecutionProvider'])
           .run(None, {'images': x})[0])
    reference = run(cpu_model_source(ort_path, 'cpu'))  # same kernels (uint8 on x86)
    cpu = run(cpu_model_source(trt_path, 'cpu'))
    as_file = run(str(trt_path))
    np.testing.assert_allclose(cpu, reference, rtol=0, atol=1e-5)  # same int8 graph
    assert np.abs(as_file - reference).max() > 1e-3  # the file itself is placed differently
    model = onnx.load(str(trt_path))
    assert apply_cpu_qdq(model) > 0
    onnx.checker.check_model(model)  # still a valid, topologically sorted graph
    resize = next(n for n in model.graph.node if n.name == 'up.Resize')
    assert resize.input[1] == ''  # an absent optional input stays absent
    assert cpu_model_source(trt_path, 'cuda:0') == str(trt_path)  # the GPU sees the file


def test_uint8_weights_are_the_same_values_and_used_without_vnni(tmp_path):
    from vru_detector.backends.qdq_layout import (activations_to_uint8, apply_cpu_qdq, has_vnni,
                                                  weights_to_uint8)

    _, path = _quantize(tmp_path, 'trt')
    model = onnx.load(str(path))
    apply_cpu_qdq(model)
    int8 = model.SerializeToString()
    activations_to_uint8(model)
    assert weights_to_uint8(model) == 4  # conv0..conv3 (the head conv stays float)
    inits = {i.name: i for i in model.graph.initializer}
    assert all(inits[n.input[0]].data_type == TensorProto.UINT8 for n in model.graph.node
               if n.op_type == 'DequantizeLinear' and n.input[0] in inits)
    x = Reader(3).data[0]
    run = (lambda src: ort.InferenceSession(src, providers=['CPUExecutionProvider'])
           .run(None, {'images': x})[0])
    np.testing.assert_allclose(run(model.SerializeToString()), run(int8), rtol=0, atol=1e-5)
    assert has_vnni('flags : fpu avx2 avx512f avx512_vnni') and not has_vnni('flags : avx2 fma')


def test_openvino_reads_q_dq_files_with_uint8_activations_on_x86(tmp_path, monkeypatch):
    # OpenVINO 2026.4's int8-activation kernels scored wrongly on an AMD Zen 4 CPU (see
    # backends/openvino.py); the uint8 form holds the same values and scored right there
    from vru_detector.backends import qdq_layout
    from vru_detector.backends.openvino import model_source

    _, path = _quantize(tmp_path, 'trt')
    monkeypatch.setattr(qdq_layout.platform, 'machine', lambda: 'x86_64')
    model = onnx.load_from_string(model_source(path, 'CPU'))
    inits = {i.name: i for i in model.graph.initializer}
    activation_zero_points = [inits[n.input[2]] for n in model.graph.node
                              if n.op_type == 'QuantizeLinear']
    assert activation_zero_points and all(
        z.data_type == TensorProto.UINT8 and numpy_helper.to_array(z).item() == 128
        for z in activation_zero_points)
    x = Reader(3).data[1]
    run = (lambda src: ort.InferenceSession(src, providers=['CPUExecutionProvider'])
           .run(None, {'images': x})[0])
    fp32 = run(str(tmp_path / 'tiny.onnx'))
    gap_file, gap_u8 = (np.abs(run(src) - fp32).max()
                        for src in (str(path), model.SerializeToString()))
    assert gap_u8 <= 1.5 * gap_file + 1e-4  # the same quantized values, as close to FP32
    assert model_source(path, 'GPU') == str(path)  # other devices read the file
    assert model_source(tmp_path / 'tiny.onnx', 'CPU') == str(tmp_path / 'tiny.onnx')
    monkeypatch.setattr(qdq_layout.platform, 'machine', lambda: 'aarch64')
    assert model_source(path, 'CPU') == str(path)
