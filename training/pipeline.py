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
`vru-train pipeline RECIPE`: every offline stage in order, into one resumable run folder.

teacher -> direct student (baseline) -> KD student -> sparsity + prune + KD fine-tune ->
ONNX export -> INT8 calibration -> FP32-vs-INT8 evaluation -> report.md.

This module only orders the stages, keeps the run folder and its manifest, and resumes: each
stage's settings and work are its module's (training/stages/, map: docs/training-map.md), its
recipe section is that module's settings (schema: training/recipe.py). Each stage runs through
:class:`training.run_dir.RunDir`: skipped when its inputs (settings, upstream artifacts by
hash) are unchanged, resumed from its last checkpoint when it was interrupted, and never
overwritten once complete. The deployable result is copied to ``OUT/deployable_int8.onnx``
(and ``OUT/deployable_fp32.onnx``), which ``vru-detect``, ``vru-eval-bag`` and the ROS node
load as they are.
"""
from __future__ import annotations

import argparse
from dataclasses import asdict
import os
from pathlib import Path
import shutil
from typing import Any

from .pipeline_log import final_summary, StageProgress
from .recipe import load_recipe, PIPELINE_STAGES as STAGES, PipelineSettings, RecipeError
from .recipe import stage_settings
from .run_dir import file_digest, RunDir, StageResult, write_json_atomic
from .stages import calibrate, distill, evaluate, export, prune, teacher

MODELS = ('teacher', 'plain_student', 'kd_student', 'pruned_kd_student')
DEPLOYABLE = {'fp32': 'deployable_fp32.onnx', 'int8': 'deployable_int8.onnx'}
SETTINGS = PipelineSettings


def _digest(path: str | None) -> str | None:
    return file_digest(Path(path)) if path else None


class Pipeline:
    """The stages of one recipe over one run folder."""

    def __init__(self, recipe_path: Path, out: Path, data: Path | None = None,
                 device: str | None = None, seed: int | None = None,
                 teacher: Path | None = None) -> None:
        os.environ.setdefault('YOLO_OFFLINE', '1')
        self.recipe = load_recipe(recipe_path)
        if data is not None:
            self.recipe['data'] = str(data)
        if device is not None:
            self.recipe['device'] = device
        if seed is not None:  # every stage's seed (a stage's own `seed:` included)
            self.recipe['seed'] = seed
            for stage in ('teacher', 'distill'):
                (self.recipe.get(stage) or {}).pop('seed', None)
        data = self.recipe.get('data')
        data_yamls = [Path(str(d)) for d in (data if isinstance(data, list) else [data or ''])]
        for data_yaml in data_yamls:
            if not data_yaml.is_file():
                raise RecipeError(f'recipe: data: {data_yaml} is not a data.yaml file (set '
                                  '`data:` in the recipe or pass --data)')
        self.out = Path(out).resolve()  # ultralytics nests relative project paths under runs/
        self.run = RunDir(self.out)
        self.data = self._stage_data([d.resolve() for d in data_yamls])
        given = {'teacher': {'data': str(self.data)}, 'distill': {'data': str(self.data)}}
        self.settings = {stage: stage_settings(self.recipe, stage, **given.get(stage, {}))
                         for stage in ('teacher', 'distill', 'prune', 'export', 'calibrate',
                                       'evaluate')}
        self.trained_teacher = Path(teacher).resolve() if teacher else None
        if self.trained_teacher and not self.trained_teacher.is_file():
            raise RecipeError(f'--teacher {teacher}: no such checkpoint (give a trained teacher '
                              '.pt, e.g. RUN/teacher/teacher.pt of an earlier run)')

    def _stage_data(self, data_yamls: list[Path]) -> Path:
        """
        Mirror the dataset(s) into the run folder (label caches go there, not to the source).

        A list of datasets trains on all their train splits and validates on the first one's.
        """
        from .datasets import stage_dataset, stage_datasets

        if len(data_yamls) == 1:
            return stage_dataset(data_yamls[0], self.out / 'data')
        return stage_datasets(data_yamls, self.out / 'data')

    # -- stages -------------------------------------------------------------------------------
    def _train_plain(self, stage: str, s) -> dict[str, Any]:
        """Plain ultralytics training of ``s.model`` (the teacher stage's run); ``<stage>.pt``."""
        def fn(workdir: Path, resuming: bool) -> StageResult:
            shutil.copy2(teacher.run(s, workdir / 'train', resume=resuming),
                         workdir / f'{stage}.pt')
            return StageResult({'weights': f'{stage}.pt'})
        inputs = {'settings': asdict(s), 'data': self._data_key(), 'weights': _digest(s.weights)}
        return self.run.stage(stage, inputs, fn)

    def teacher(self) -> dict[str, Any]:
        return self._train_plain('teacher', self.settings['teacher'])

    def student(self) -> dict[str, Any]:
        """Train the student directly (no teacher): the baseline KD is measured against."""
        return self._train_plain('student', self.settings['distill'].updated(teacher=None))

    def teacher_weights(self) -> Path:
        """Return the KD teacher: ``--teacher``, else this run's teacher stage's result."""
        if self.trained_teacher:
            return self.trained_teacher
        if 'teacher' not in self.run.manifest['stages']:
            raise RecipeError('the distill stage needs a teacher: run the teacher stage first '
                              'or pass --teacher TEACHER.pt')
        return self.run.output('teacher', 'weights')

    def distill(self) -> dict[str, Any]:
        teacher_pt = self.teacher_weights()
        s = self.settings['distill'].updated(teacher=str(teacher_pt))

        def fn(workdir: Path, resuming: bool) -> StageResult:
            shutil.copy2(distill.run(s, workdir / 'train', resume=resuming),
                         workdir / 'kd_student.pt')
            return StageResult({'weights': 'kd_student.pt'})
        inputs = {'settings': asdict(s), 'teacher': file_digest(teacher_pt),
                  'data': self._data_key(), 'weights': _digest(s.weights)}
        return self.run.stage('distill', inputs, fn)

    def prune(self) -> dict[str, Any]:
        s = self.settings['prune']
        kd_student = self.run.output('distill', 'weights')

        def fn(workdir: Path, resuming: bool) -> StageResult:
            result = prune.run(s, workdir, kd_student, data=self.data, teacher=kd_student)
            shutil.copy2(result['output'], workdir / 'pruned_kd_student.pt')
            return StageResult({'weights': 'pruned_kd_student.pt', 'report': 'prune_report.md'},
                               {'finetune_method': result.get('finetune_method')})
        inputs = {'settings': asdict(s), 'student': file_digest(kd_student),
                  'data': self._data_key()}
        return self.run.stage('prune', inputs, fn)

    def export(self, models: dict[str, Path]) -> dict[str, Any]:
        s = self.settings['export']

        def fn(workdir: Path, resuming: bool) -> StageResult:
            return StageResult({name: path.name
                                for name, path in export.run(s, workdir, models).items()})
        inputs = {'settings': asdict(s), 'models': {k: file_digest(v) for k, v in models.items()}}
        return self.run.stage('export', inputs, fn)

    def calibrate(self, onnx_models: dict[str, Path]) -> dict[str, Any]:
        s = self.settings['calibrate']

        def fn(workdir: Path, resuming: bool) -> StageResult:
            outputs, metrics = {}, {}
            for name, result in calibrate.run(s, workdir, onnx_models, self.data).items():
                outputs[name] = result.model.name
                metrics[name] = {'calibration_id': result.calibration_id,
                                 'float_nodes': len(result.float_nodes)}
                if result.budget is not None:
                    metrics[name]['max_drop'] = result.budget.message()
            return StageResult(outputs, metrics)
        inputs = {'settings': asdict(s), 'data': self._data_key(),
                  'models': {k: file_digest(v) for k, v in onnx_models.items()}}
        return self.run.stage('calibrate', inputs, fn)

    def evaluate(self, weights: dict[str, Path], fp32: dict[str, Path],
                 int8: dict[str, Path], deploy: str | None = None) -> dict[str, Any]:
        s = self.settings['evaluate']
        start = self._start_weights(deploy)
        models = evaluate.Models(weights, fp32, int8, deploy, start,
                                 self.out / DEPLOYABLE['int8'], self.settings['export'].imgsz)

        def fn(workdir: Path, resuming: bool) -> StageResult:
            return StageResult({'report': 'report.md', 'metrics': 'metrics.json'},
                               evaluate.run(s, workdir, models, self.data))
        inputs = {'settings': asdict(s), 'fp32': {k: file_digest(v) for k, v in fp32.items()},
                  'int8': {k: file_digest(v) for k, v in int8.items()},
                  'start': _digest(str(start)) if start else None, 'imgsz': models.imgsz}
        return self.run.stage('evaluate', inputs, fn)

    def _start_weights(self, deploy: str | None) -> Path | None:
        """Return the pretrained .pt the deployable model started from (None: from scratch)."""
        settings = self.settings['teacher' if deploy == 'teacher' else 'distill']
        return Path(settings.weights) if settings.weights else None

    def _data_key(self) -> dict[str, Any]:
        return {'yaml': file_digest(self.data), 'labels': str(self.data.parent / 'labels')}

    # -- the whole run ------------------------------------------------------------------------
    def run_all(self, stages: tuple[str, ...] = STAGES) -> Path:
        """Run ``stages`` (in pipeline order); returns the report path."""
        unknown = sorted(set(stages) - set(STAGES))
        if unknown:
            raise RecipeError(f'unknown pipeline stage(s) {unknown}; expected some of {STAGES}')
        self.stages = tuple(stages)
        self.progress = StageProgress({s: self._work(s) for s in STAGES if s in stages})
        done: dict[str, Path] = {}
        for stage, key in (('teacher', 'teacher'), ('student', 'plain_student'),
                           ('distill', 'kd_student'), ('prune', 'pruned_kd_student')):
            if stage in stages:
                self.progress.start(stage)
                getattr(self, stage)()
            if stage in self.run.manifest['stages']:  # run now or in an earlier call
                done[key] = self.run.output(stage, 'weights')
        weights = {k: done[k] for k in MODELS if k in done}
        if 'export' not in stages:
            return self.run.manifest_path
        self.progress.start('export')
        fp32 = {k: self.run.output('export', k) for k in self.export(weights)['outputs']}
        if 'calibrate' not in stages:
            return self.run.manifest_path
        self.progress.start('calibrate')
        int8 = {k: self.run.output('calibrate', k) for k in self.calibrate(fp32)['outputs']}
        deploy = 'pruned_kd_student' if 'pruned_kd_student' in int8 else next(reversed(int8))
        self._publish(fp32[deploy], int8[deploy], deploy)
        if 'evaluate' not in stages:
            return self.run.manifest_path
        self.progress.start('evaluate')
        self.evaluate(weights, fp32, int8, deploy)
        report = self.run.output('evaluate', 'report')
        # the run folder's copy links the plot where it is, in the evaluate stage's folder
        (self.out / 'report.md').write_text(report.read_text().replace(
            '](accuracy.png)', f']({report.parent.name}/accuracy.png)'))
        return self.out / 'report.md'

    def _work(self, stage: str) -> float:
        """
        Return how much work ``stage`` is, in training epochs, for the ETA (a rough guess).

        A KD epoch counts 1.6 plain ones (the teacher's forward pass). Export, calibration and
        evaluation count a small share of an epoch per model: measured on the demo (441 images
        at 480 px, a 3.1M-parameter student), 0.01, 0.04 and 0.06 of its first epoch.
        """
        prune_s = self.settings['prune']
        models = max(1, len(set(self.stages) & {'teacher', 'student', 'distill', 'prune'}))
        return float({'teacher': self.settings['teacher'].epochs,
                      'student': self.settings['distill'].epochs,
                      'distill': 1.6 * self.settings['distill'].epochs,
                      'prune': prune_s.sparsity_epochs + 1.6 * prune_s.finetune_epochs,
                      'export': 0.01 * models, 'calibrate': 0.04 * models,
                      'evaluate': 0.06 * models}[stage])

    def _publish(self, fp32: Path, int8: Path, name: str) -> None:
        """Copy the deployable student to fixed names (atomically) and record which it is."""
        for src, dst in ((fp32, DEPLOYABLE['fp32']), (int8, DEPLOYABLE['int8'])):
            tmp = self.out / (dst + '.tmp')
            shutil.copy2(src, tmp)
            os.replace(tmp, self.out / dst)
        int8_sha256 = file_digest(self.out / DEPLOYABLE['int8'])
        self.run.manifest['deployed'] = {'model': name, **DEPLOYABLE,
                                         'int8_sha256': int8_sha256}
        write_json_atomic(self.run.manifest_path, self.run.manifest)


def add_inputs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('recipe', type=Path, help='recipe YAML (see training/recipes/)')
    parser.add_argument('--out', type=Path, help='run folder (default: runs/<recipe name>)')
    parser.add_argument('--data', type=Path, help="override the recipe's data.yaml")
    parser.add_argument('--device', help="override the recipe's device (cpu, 0, 0,1)")
    parser.add_argument('--seed', type=int, help="override the recipe's seed (every stage)")
    parser.add_argument('--teacher', type=Path,
                        help='a trained teacher .pt for the distill stage instead of the teacher '
                             'stage (e.g. a second student seed against the same teacher)')


def main(args: argparse.Namespace, settings: PipelineSettings, recipe: dict[str, Any]) -> int:
    out = args.out or Path('runs') / str(recipe.get('name') or args.recipe.stem)
    pipeline = Pipeline(args.recipe, out, data=args.data, device=args.device, seed=args.seed,
                        teacher=args.teacher)
    report = pipeline.run_all(tuple(settings.stages))
    rows = (pipeline.run.manifest['stages'].get('evaluate', {}).get('metrics') or {})
    print(final_summary(pipeline.out, report, rows.get('models', []),
                        pipeline.run.manifest.get('deployed', {}), pipeline.progress.elapsed(),
                        rows.get('start_verdict')))
    return 0
