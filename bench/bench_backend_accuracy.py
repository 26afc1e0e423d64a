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
Accuracy of one FP32/INT8 pair on each CPU backend, on the pooled street benchmark.

The same two files run on ONNX Runtime and on OpenVINO, and every run is compared with ONNX
Runtime FP32 on the same frames (paired 95% intervals), so a user can see what the backend and
the INT8 file each cost. Target: no backend's INT8 significantly below FP32 by more than 1 point.

    python bench/bench_backend_accuracy.py runs/demo/deployable_fp32.onnx \
        runs/demo/deployable_int8.onnx --out runs/backend_accuracy
"""
from __future__ import annotations

import argparse
from pathlib import Path
import sys

BACKENDS = ('onnxruntime', 'openvino')


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('fp32', type=Path, help='FP32 ONNX model')
    p.add_argument('int8', type=Path, help='INT8 Q/DQ ONNX model of the same network')
    p.add_argument('--out', type=Path, default=Path('runs/backend_accuracy'))
    args = p.parse_args(argv)
    from vru_detector import Detector
    from vru_detector.errors import VruDetectorError
    from vru_detector.replay.bench_report import markdown, write_outputs
    from vru_detector.replay.benchmark import default_data_root, EVAL_CONF, run_benchmark

    try:
        runs = [(f'{kind}_{backend}', Detector(path, backend=backend, conf=EVAL_CONF))
                for kind, path in (('fp32', args.fp32), ('int8', args.int8))
                for backend in BACKENDS]
        result = run_benchmark([d for _, d in runs], default_data_root(),
                               names=[n for n, _ in runs])
    except (VruDetectorError, ImportError, ValueError) as exc:
        print(f'bench_backend_accuracy: error: {exc}', file=sys.stderr)
        return 2
    write_outputs(result, args.out)
    print(markdown(result))
    return 0


if __name__ == '__main__':
    sys.exit(main())
