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

Each stage runs through :class:`training.run_dir.RunDir`: skipped when its inputs (recipe
section, upstream artifacts by hash) are unchanged, resumed from its last checkpoint when it
was interrupted, and never overwritten once complete. The deployable result is copied to
``OUT/deployable_int8.onnx`` (and ``OUT/deployable_fp32.onnx``), which ``vru-detect``,
``vru-eval-bag`` and the ROS node load as they are.

Recipe keys beyond those of :mod:`training.recipe` (all optional)::

    prune:     {sparsity_epochs: 50, finetune_epochs: 50, lam: 5e-4, schedule: constant,
                ratio: 0.5, allocation: global, min_channels: 8, fade_end: 0.75, batch, imgsz,
                train: {...}}  # schedule: constant, linear (L1) or fade (training/prune)
    export:    {imgsz: null}                 # default: the distill stage's imgsz
    calibrate: {images, method, percentile, keep_float, max_drop, val_images, max_float_layers,
                seed}
               # defaults: training/quantize/settings.py CalibrateSettings
    evaluate:  {split: val, conf: 0.001, latency_runs: 20,
                benchmark: [bdd100k_vru, street_vru, mot_clips]}  # pooled street benchmark
    pipeline:  {stages: [teacher, student, distill, prune, export, calibrate, evaluate]}
"""
from __future__ import annotations

import argparse
from dataclasses import replace
import os
from pathlib import Path
import shutil
from typing import Any

from .pipeline_log import final_summary, StageProgress
from .recipe import load_recipe, RecipeError, stage_settings, StageSettings
from .run_dir import file_digest, RunDir, StageResult, write_json_atomic

STAGES = ('teacher', 'student', 'distill', 'prune', 'export', 'calibrate', 'evaluate')
MODELS = ('teacher', 'plain_student', 'kd_student', 'pruned_kd_student')
DEPLOYABLE = {'fp32': 'deployable_fp32.onnx', 'int8': 'deployable_int8.onnx'}
SECTION_KEYS = {
    'prune': {'sparsity_epochs', 'finetune_epochs', 'lam', 'schedule', 'ratio', 'allocation',
              'min_channels', 'fade_end', 'batch', 'imgsz', 'train'},
    'export': {'imgsz'},
    'calibrate': None,  # CalibrateSettings' fields
    'evaluate': {'split', 'conf', 'latency_runs', 'benchmark'},
    'pipeline': {'stages'},
}


def section(recipe: dict[str, Any], name: str) -> dict[str, Any]:
    """Return a validated optional recipe section; unknown keys are errors, not ignored."""
    value = recipe.get(name) or {}
    if not isinstance(value, dict):
        raise RecipeError(f'recipe: {name}: expected a mapping, got {value!r}')
    keys = SECTION_KEYS[name]
    if keys is None:
        from .quantize.settings import CalibrateSettings

        keys = CalibrateSettings.keys()
    unknown = sorted(set(value) - keys)
    if unknown:
        raise RecipeError(f'recipe: {name}: unknown key(s) {unknown}; expected some of '
                          f'{sorted(keys)}')
    return value


def _weights(train_dir: Path) -> Path:
    """Return best.pt of an ultralytics run folder, or last.pt when no validation ran."""
    best = train_dir / 'weights' / 'best.pt'
    return best if best.is_file() else train_dir / 'weights' / 'last.pt'


def _digest(path: str | None) -> str | None:
    return file_digest(Path(path)) if path else None


def _resume_or_train(workdir: Path, resuming: bool, train) -> Path:
    """Continue an interrupted ultralytics run from last.pt, or start one with ``train``."""
    last = workdir / 'train' / 'weights' / 'last.pt'
    if resuming and last.is_file():
        from ultralytics import YOLO

        from .prune.trainers import PrunedDetectionTrainer
        from .start_point import record_trained

        yolo = YOLO(str(last))
        yolo.train(resume=True, trainer=PrunedDetectionTrainer)  # a pruned start stays pruned
        record_trained(yolo.trainer, workdir / 'train')  # a pretrained start's start.json
        return _weights(workdir / 'train')
    return train()


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
        for name in SECTION_KEYS:
            section(self.recipe, name)
        data = self.recipe.get('data')
        data_yamls = [Path(str(d)) for d in (data if isinstance(data, list) else [data or ''])]
        for data_yaml in data_yamls:
            if not data_yaml.is_file():
                raise RecipeError(f'recipe: data: {data_yaml} is not a data.yaml file (set '
                                  '`data:` in the recipe or pass --data)')
        self.out = Path(out).resolve()  # ultralytics nests relative project paths under runs/
        self.run = RunDir(self.out)
        self.data = self._stage_data([d.resolve() for d in data_yamls])
        self.teacher_settings = self._settings('teacher')
        self.student_settings = self._settings('distill')
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

    def _settings(self, stage: str) -> StageSettings:
        return replace(stage_settings(self.recipe, stage), data=str(self.data))

    # -- stages -------------------------------------------------------------------------------
    def _train_plain(self, stage: str, s: StageSettings) -> dict[str, Any]:
        """
        Train ``s.model`` with plain ultralytics training; saves ``<stage>.pt``.

        With 0 epochs ``<stage>.pt`` is the pretrained start as it is, head classes matched:
        KD from it ("learning without forgetting") holds the student near the start.
        """
        from .start_point import save_start
        from .teacher import train_teacher

        def fn(workdir: Path, resuming: bool) -> StageResult:
            if s.epochs == 0:
                save_start(s, workdir / f'{stage}.pt')
                return StageResult({'weights': f'{stage}.pt'})
            w = _resume_or_train(workdir, resuming, lambda: train_teacher(s, workdir, 'train'))
            shutil.copy2(w, workdir / f'{stage}.pt')
            return StageResult({'weights': f'{stage}.pt'})
        inputs = {'settings': vars(s), 'data': self._data_key(), 'weights': _digest(s.weights)}
        return self.run.stage(stage, inputs, fn)

    def teacher(self) -> dict[str, Any]:
        return self._train_plain('teacher', self.teacher_settings)

    def student(self) -> dict[str, Any]:
        """Train the student directly (no teacher): the baseline KD is measured against."""
        return self._train_plain('student', replace(self.student_settings, teacher=None, kd={}))

    def teacher_weights(self) -> Path:
        """Return the KD teacher: ``--teacher``, else this run's teacher stage's result."""
        if self.trained_teacher:
            return self.trained_teacher
        if 'teacher' not in self.run.manifest['stages']:
            raise RecipeError('the distill stage needs a teacher: run the teacher stage first '
                              'or pass --teacher TEACHER.pt')
        return self.run.output('teacher', 'weights')

    def distill(self) -> dict[str, Any]:
        from .distill.cli import distill, resume

        teacher = self.teacher_weights()
        s = replace(self.student_settings, teacher=str(teacher))

        def fn(workdir: Path, resuming: bool) -> StageResult:
            last = workdir / 'train' / 'weights' / 'last.pt'
            w = resume(last) if resuming and last.is_file() else distill(s, workdir, 'train')
            shutil.copy2(w, workdir / 'kd_student.pt')
            return StageResult({'weights': 'kd_student.pt'})
        inputs = {'settings': vars(s), 'teacher': file_digest(teacher), 'data': self._data_key(),
                  'weights': _digest(s.weights)}
        return self.run.stage('distill', inputs, fn)

    def prune(self) -> dict[str, Any]:
        from .prune.channel_pruning import PruneSettings
        from .prune.pipeline import PruneJob, run_job
        from .prune.sparsity import SparsitySchedule

        cfg = section(self.recipe, 'prune')
        kd_student = self.run.output('distill', 'weights')
        s = self.student_settings
        imgsz = int(cfg.get('imgsz', s.imgsz))

        def fn(workdir: Path, resuming: bool) -> StageResult:
            job = PruneJob(
                model=kd_student, out=workdir, data=self.data, teacher=kd_student,
                imgsz=imgsz, batch=int(cfg.get('batch', s.batch)),
                device=s.device or 'cpu', workers=int(s.train.get('workers', 0)),
                fraction=float(s.train.get('fraction', 1.0)), seed=s.seed,
                sparsity_epochs=int(cfg.get('sparsity_epochs', 50)),
                finetune_epochs=int(cfg.get('finetune_epochs', 50)),
                schedule=SparsitySchedule(lam=float(cfg.get('lam', 5e-4)),
                                          mode=str(cfg.get('schedule', 'constant')),
                                          fade_end=float(cfg.get('fade_end', 0.75))),
                prune=PruneSettings(ratio=float(cfg.get('ratio', 0.5)),
                                    min_channels=int(cfg.get('min_channels', 8)), imgsz=imgsz,
                                    allocation=str(cfg.get('allocation', 'global'))),
                validate=False, latency_runs=0,
                train_extra={k: v for k, v in {**s.train, **(cfg.get('train') or {})}.items()
                             if k not in ('workers', 'fraction')})
            result = run_job(job)
            shutil.copy2(result['output'], workdir / 'pruned_kd_student.pt')
            return StageResult({'weights': 'pruned_kd_student.pt', 'report': 'prune_report.md'},
                               {'finetune_method': result.get('finetune_method')})
        inputs = {'prune': cfg, 'student': file_digest(kd_student), 'data': self._data_key()}
        return self.run.stage('prune', inputs, fn)

    def export(self, models: dict[str, Path]) -> dict[str, Any]:
        from .export import export_onnx

        imgsz = int(section(self.recipe, 'export').get('imgsz') or self.student_settings.imgsz)

        def fn(workdir: Path, resuming: bool) -> StageResult:
            outputs = {}
            for name, weights in models.items():
                export_onnx(weights, workdir / f'{name}.onnx', imgsz=imgsz)
                outputs[name] = f'{name}.onnx'
            return StageResult(outputs)
        inputs = {'imgsz': imgsz, 'models': {k: file_digest(v) for k, v in models.items()}}
        return self.run.stage('export', inputs, fn)

    def calibrate(self, onnx_models: dict[str, Path]) -> dict[str, Any]:
        from .quantize.calibration_set import dataset_split_dir, select_calibration_images
        from .quantize.cli import calibrate, validation_images
        from .quantize.settings import CalibrateSettings

        cfg = section(self.recipe, 'calibrate')
        try:
            opts = CalibrateSettings.from_recipe(cfg)
        except (TypeError, ValueError) as exc:
            raise RecipeError(f'recipe: calibrate: {exc}') from None
        images = select_calibration_images(dataset_split_dir(self.data, 'train'), opts.images,
                                           opts.seed)
        val = (validation_images(self.data, opts.val_images, opts.seed)
               if opts.max_drop is not None else [])

        def fn(workdir: Path, resuming: bool) -> StageResult:
            outputs, metrics = {}, {}
            for name, fp32 in onnx_models.items():
                result = calibrate(fp32, images, workdir / f'{name}_int8.onnx', opts.quant(),
                                   keep_float=opts.keep_float, seed=opts.seed,
                                   report_dir=workdir / f'{name}_report',
                                   max_drop=opts.max_drop, val_images=val,
                                   max_float_layers=opts.max_float_layers)
                outputs[name] = f'{name}_int8.onnx'
                metrics[name] = {'calibration_id': result.calibration_id,
                                 'float_nodes': len(result.float_nodes)}
                if result.budget is not None:
                    metrics[name]['max_drop'] = result.budget.message()
            return StageResult(outputs, metrics)
        inputs = {'calibrate': cfg, 'images': [str(p) for p in images],
                  'models': {k: file_digest(v) for k, v in onnx_models.items()}}
        return self.run.stage('calibrate', inputs, fn)

    def evaluate(self, weights: dict[str, Path], fp32: dict[str, Path],
                 int8: dict[str, Path], deploy: str | None = None) -> dict[str, Any]:
        from .benchmark_eval import SOURCES
        from .pipeline_report import evaluate_models

        cfg = section(self.recipe, 'evaluate')
        sources = list(cfg.get('benchmark', SOURCES) or [])
        start = self._start_weights(deploy)
        imgsz = int(section(self.recipe, 'export').get('imgsz') or self.student_settings.imgsz)

        def fn(workdir: Path, resuming: bool) -> StageResult:
            rows = evaluate_models(weights, fp32, int8, self.data, workdir,
                                   split=str(cfg.get('split', 'val')),
                                   conf=float(cfg.get('conf', 0.001)),
                                   latency_runs=int(cfg.get('latency_runs', 20)))
            verdict = self._benchmark(workdir, sources, start, imgsz, deploy, fp32, int8)
            return StageResult({'report': 'report.md', 'metrics': 'metrics.json'},
                               {'models': rows, 'start_verdict': verdict})
        inputs = {'evaluate': cfg, 'fp32': {k: file_digest(v) for k, v in fp32.items()},
                  'int8': {k: file_digest(v) for k, v in int8.items()},
                  'start': _digest(str(start)) if start else None, 'imgsz': imgsz}
        return self.run.stage('evaluate', inputs, fn)

    def _start_weights(self, deploy: str | None) -> Path | None:
        """Return the pretrained .pt the deployable model started from (None: from scratch)."""
        settings = self.teacher_settings if deploy == 'teacher' else self.student_settings
        return Path(settings.weights) if settings.weights else None

    def _benchmark(self, workdir: Path, sources: list[str], start: Path | None, imgsz: int,
                   deploy: str | None, fp32: dict[str, Path], int8: dict[str, Path]
                   ) -> dict[str, Any] | None:
        """
        Benchmark the start (exported like our models) and the deployable FP32 and INT8.

        Appends the section to report.md; returns the deployable-vs-start verdict.
        """
        from .benchmark_eval import run_benchmark_section, start_verdict
        from .export import export_onnx

        if deploy is None or deploy not in int8:
            return None
        models: dict[str, Path] = {}
        if start is not None:
            models['start'] = export_onnx(start, workdir / 'start.onnx', imgsz=imgsz)
        models[f'{deploy}_fp32'] = fp32[deploy]
        models[f'{deploy}_int8'] = int8[deploy]
        section_ = run_benchmark_section(models, workdir / 'benchmark', sources)
        report = workdir / 'report.md'
        report.write_text(report.read_text() + '\n' + section_['markdown'])
        result = section_['result']
        if result is None or start is None:
            return None
        return start_verdict(result, 'start', f'{deploy}_int8', self.out / DEPLOYABLE['int8'],
                             models['start'])

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
        prune = section(self.recipe, 'prune')
        models = max(1, len(set(self.stages) & {'teacher', 'student', 'distill', 'prune'}))
        return float({'teacher': self.teacher_settings.epochs,
                      'student': self.student_settings.epochs,
                      'distill': 1.6 * self.student_settings.epochs,
                      'prune': int(prune.get('sparsity_epochs', 50))
                      + 1.6 * int(prune.get('finetune_epochs', 50)),
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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('recipe', type=Path, help='recipe YAML (see training/recipes/)')
    parser.add_argument('--out', type=Path, help='run folder (default: runs/<recipe name>)')
    parser.add_argument('--data', type=Path, help="override the recipe's data.yaml")
    parser.add_argument('--device', help="override the recipe's device (cpu, 0, 0,1)")
    parser.add_argument('--seed', type=int, help="override the recipe's seed (every stage)")
    parser.add_argument('--teacher', type=Path,
                        help='a trained teacher .pt for the distill stage instead of the teacher '
                             'stage (e.g. a second student seed against the same teacher)')
    parser.add_argument('--stages', nargs='+', choices=STAGES,
                        help='run only these stages (their inputs must exist in the run)')


def run(args: argparse.Namespace) -> int:
    try:
        recipe = load_recipe(args.recipe)
        out = args.out or Path('runs') / str(recipe.get('name') or args.recipe.stem)
        pipeline = Pipeline(args.recipe, out, data=args.data, device=args.device,
                            seed=args.seed, teacher=args.teacher)
        stages = tuple(args.stages or section(pipeline.recipe, 'pipeline').get('stages')
                       or STAGES)
        report = pipeline.run_all(stages)
    except RecipeError as exc:
        print(f'vru-train pipeline: {exc}')
        return 2
    rows = (pipeline.run.manifest['stages'].get('evaluate', {}).get('metrics') or {})
    print(final_summary(pipeline.out, report, rows.get('models', []),
                        pipeline.run.manifest.get('deployed', {}), pipeline.progress.elapsed(),
                        rows.get('start_verdict')))
    return 0
