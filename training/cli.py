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

Each stage module (training/stages/) defines ``SETTINGS``, whose fields become the flags
(and are the recipe section's keys), ``add_inputs(parser)`` for its files, and
``main(args, settings, recipe) -> int``; a flag overrides the ``--recipe`` section's value.
Modules are imported only when their subcommand runs and import torch only inside ``run``, so
``vru-train SUBCOMMAND --help`` stays fast. Input files are checked before a stage starts
(``cli_inputs``); the errors a user can cause (missing or damaged files, bad values, a missing
extra) end in a one-paragraph message and exit status 2, not a traceback. ``VRU_TRACEBACK=1``
shows the traceback as well.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

from vru_detector.cli.help import description, HelpFormatter

COMMANDS = {
    'data': ('training.stages.data',
             'convert BDD100K / VisDrone / COCO labels to a YOLO VRU dataset, or merge YOLO '
             'datasets'),
    'teacher': ('training.stages.teacher', 'train the large teacher (YOLOv8-L by default)'),
    'distill': ('training.stages.distill', 'distill the teacher into a small student'),
    'prune': ('training.stages.prune', 'sparsity-train, prune channels by BN scale, KD '
              'fine-tune'),
    'export': ('training.stages.export', 'export a checkpoint to ONNX with runtime metadata'),
    'calibrate': ('training.stages.calibrate', 'INT8 Q/DQ ONNX calibration (+ TensorRT engine)'),
    'evaluate': ('training.stages.evaluate', 'FP32 vs INT8 metrics for several models'),
    'pipeline': ('training.pipeline', 'run every stage from a recipe, resumable'),
}
TRAIN_EXTRA = 'install the training package: pip install -e ./training'


def build_parser() -> tuple[argparse.ArgumentParser, argparse._SubParsersAction]:
    parser = argparse.ArgumentParser(prog='vru-train', description=description(__doc__),
                                     formatter_class=HelpFormatter)
    sub = parser.add_subparsers(dest='command', metavar='SUBCOMMAND', required=True)
    return parser, sub


def stage_parser(name: str) -> tuple[argparse.ArgumentParser, object]:
    """Return (the parser of one stage, its module); the module is imported here."""
    module_name, help_text = COMMANDS[name]
    module = importlib.import_module(module_name)
    doc = (module.__doc__ or '').strip().split('\n\n')
    text = help_text + ('\n\n' + description('\n\n'.join(doc[1:2])) if len(doc) > 1 else '')
    stage = argparse.ArgumentParser(prog=f'vru-train {name}', description=text,
                                    formatter_class=HelpFormatter)
    module.add_inputs(stage)
    module.SETTINGS.add_arguments(stage)
    return stage, module


def _fail(name: str, text: str) -> int:
    print(f'vru-train {name}: error: ' + ' '.join(str(text).split()), file=sys.stderr)
    return 2


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
    try:
        stage, module = stage_parser(name)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith('training'):
            return _fail(name, 'this stage is not available in this version')
        return _fail(name, f'missing dependency {exc.name!r}; {TRAIN_EXTRA}')
    rest = list(argv)
    rest.remove(name)
    args = stage.parse_args(rest)
    return run_stage(name, stage, module, args)


def run_stage(name: str, stage: argparse.ArgumentParser, module, args) -> int:
    """Check the inputs, run the stage, and turn the errors a user can cause into a message."""
    import yaml

    from .cli_inputs import check_inputs
    from .pipeline_log import quiet_ultralytics
    from .recipe import load_recipe, RecipeError, stage_settings

    quiet_ultralytics()
    try:
        check_inputs(name, stage, args)
        recipe = load_recipe(args.recipe) if getattr(args, 'recipe', None) else {}
        given = module.SETTINGS.given_flags(args)
        if module.SETTINGS.STAGE:  # a recipe section: the flags override it
            settings = stage_settings(recipe, name, **given)
        else:
            settings = module.SETTINGS(**given)
        return int(module.main(args, settings, recipe) or 0)
    except ModuleNotFoundError as exc:
        if os.environ.get('VRU_TRACEBACK'):
            raise
        return _fail(name, f'this stage needs {exc.name!r}, which is not installed here (a '
                     f'runtime-only install); {TRAIN_EXTRA}')
    except (OSError, ValueError, EOFError, RecipeError, yaml.YAMLError) as exc:
        if os.environ.get('VRU_TRACEBACK'):
            raise
        return _fail(name, _explain(exc))


def _explain(exc: BaseException) -> str:
    """One paragraph for an error: the file an OSError names, else the message itself."""
    if isinstance(exc, OSError) and exc.filename:
        return f'{exc.filename}: {exc.strerror or exc}; check the path'
    return str(exc) or type(exc).__name__


if __name__ == '__main__':
    sys.exit(main())
