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
`vru-train SUBCOMMAND`: one entry point, one module per stage.

Each stage module defines ``add_arguments(parser)`` and ``run(args) -> int``; modules are
imported only when their subcommand runs, so ``vru-train --help`` stays fast.
"""
from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = {
    'data': ('training.data.cli',
             'convert BDD100K / VisDrone / COCO labels to a YOLO VRU dataset'),
    'teacher': ('training.teacher', 'train the large teacher (YOLOv8-L by default)'),
    'distill': ('training.distill.cli', 'distill the teacher into a small student'),
    'prune': ('training.prune.cli', 'sparsity-train, prune channels by BN scale, KD fine-tune'),
    'export': ('training.export', 'export a checkpoint to ONNX with runtime metadata'),
    'calibrate': ('training.quantize.cli', 'INT8 Q/DQ ONNX calibration (+ TensorRT engine)'),
    'evaluate': ('training.evaluate', 'FP32 vs INT8 metrics for several models'),
    'pipeline': ('training.pipeline', 'run every stage from a recipe, resumable'),
}


def build_parser() -> tuple[argparse.ArgumentParser, argparse._SubParsersAction]:
    parser = argparse.ArgumentParser(prog='vru-train', description=__doc__.strip().splitlines()[0])
    sub = parser.add_subparsers(dest='command', metavar='SUBCOMMAND', required=True)
    return parser, sub


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser, sub = build_parser()
    for name, (_, help_text) in COMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    known = [a for a in argv if not a.startswith('-')]
    if not known or known[0] not in COMMANDS:
        parser.parse_args(argv)  # prints usage / --help and exits
        return 2
    name = known[0]
    module_name, help_text = COMMANDS[name]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith('training'):
            print(f'vru-train {name}: this stage is not available in this version',
                  file=sys.stderr)
            return 2
        raise SystemExit(f'vru-train {name}: missing dependency {exc.name!r}; '
                         'install the training extra: pip install -e ".[train]"') from exc
    stage = argparse.ArgumentParser(prog=f'vru-train {name}', description=help_text)
    module.add_arguments(stage)
    rest = list(argv)
    rest.remove(name)
    return int(module.run(stage.parse_args(rest)) or 0)


if __name__ == '__main__':
    sys.exit(main())
