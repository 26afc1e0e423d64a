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
The pooled VRU street benchmark: which of several models is better, with 95% intervals.

Every model runs through the runtime's own :class:`~vru_detector.Detector` (the node's
backend, pre- and post-processing) on the street sources of ``bench_sources``; each frame is
matched once (pycocotools' algorithm, ``coco_eval``) and every figure, per source and pooled,
gets a bootstrap interval that resamples whole groups (recordings, scenes, clips; see
``bootstrap``). With two or more models, each is compared with the first on the same
frames (paired bootstrap of the difference) and called better, worse or not significantly
different. The pooled figure is one COCO evaluation over all pooled frames, not a mean of
per-source figures; coco_vru is reported apart and never pooled.

Python API: :func:`run_benchmark` (models -> :class:`BenchmarkResult`); command line:
``vru-benchmark MODEL [MODEL ...] --out DIR`` (or ``python -m vru_detector.replay.benchmark``).
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass, field
import os
from pathlib import Path
import sys
import time
from typing import Callable, Sequence

import numpy as np

from .bench_sources import (BENCH_CLASSES, BenchFrame, BenchSource, iter_images,
                            load_sources, MissingSourceError, SOURCES)
from .bootstrap import Interval, interval, LEVEL, paired_difference, RESAMPLES, SEED
from .metrics import ReplayMetrics
from .weighted_metrics import HEIGHT_BUCKETS, WeightedReplay
from ..errors import VruDetectorError
from ..extras import require
from ..labels import FrameTruth, LabelFormatError, map_class

POOLED_SCOPE = 'pooled'
EVAL_CONF = 0.001        # detections kept for AP (the validators' threshold)
# (key, label, higher is better); recall and false positives at the node's thresholds
METRICS = (('person_ap50', 'person AP50', True), ('map50', 'mAP50', True),
           ('recall', 'person recall', True),
           *((f'recall_{h}', f'recall {h}', True) for h in HEIGHT_BUCKETS),
           ('fp_per_frame', 'person FP/frame', False))
FOLD = {'rider': 'person'}   # a class a model lacks is scored as this one (COCO's convention)


def default_data_root() -> str:
    """Folder of the benchmark sources: $VRU_SHARED_DATA, else ../shared/data (repo layout)."""
    return os.environ.get('VRU_SHARED_DATA', '../shared/data')


def node_thresholds(names: Sequence[str]) -> np.ndarray:
    """Return the node's default score threshold per class (detector.yaml conf, classes.yaml)."""
    from ..class_config import (DEFAULT_CONF, default_thresholds, load_class_config,
                                model_thresholds)
    from ..detector import class_thresholds

    own = model_thresholds(default_thresholds(load_class_config()), names)
    return class_thresholds(list(names), DEFAULT_CONF, own).astype(np.float64)


@dataclass
class ModelRun:
    """One model's detections on every benchmark frame, matched (ReplayMetrics)."""

    name: str
    path: str
    precision: str
    input_shape: tuple[int, int]
    metrics: ReplayMetrics
    wall_s: float
    backend: str = ''   # the runtime that produced the detections (INT8 arithmetic differs)


@dataclass
class BenchmarkResult:
    """Every figure of a benchmark run (intervals by scope -> model -> metric)."""

    classes: tuple[str, ...]
    folded: dict[str, str]
    thresholds: dict[str, float]
    sources: list[dict]
    models: list[dict]
    figures: dict[str, dict[str, dict[str, Interval]]]
    differences: dict[str, dict[str, dict[str, Interval]]]
    resamples: int
    seed: int
    level: float
    runs: list[ModelRun] = field(default_factory=list, repr=False)
    person_boxes: dict[str, dict[str, int]] = field(default_factory=dict)  # scope -> height

    @property
    def main_scope(self) -> str:
        """'pooled' when several sources are pooled, else the first (only) source."""
        return POOLED_SCOPE if POOLED_SCOPE in self.figures else next(iter(self.figures))

    def figure(self, model: str, metric: str = 'person_ap50',
               scope: str | None = None) -> Interval:
        return self.figures[scope or self.main_scope][model][metric]

    def difference(self, model: str, metric: str = 'person_ap50',
                   scope: str | None = None) -> Interval:
        """Paired ``model - first model`` interval (default scope: ``main_scope``)."""
        return self.differences[scope or self.main_scope][model][metric]

    def verdict(self, model: str, metric: str = 'person_ap50',
                scope: str | None = None) -> str:
        higher = next(h for k, _, h in METRICS if k == metric)
        return self.difference(model, metric, scope).verdict(higher)

    def to_dict(self) -> dict:
        def table(block: dict) -> dict:
            return {s: {m: {k: iv.as_dict() for k, iv in d.items()} for m, d in per.items()}
                    for s, per in block.items()}

        verdicts = {s: {m: {k: iv.verdict(next(h for kk, _, h in METRICS if kk == k))
                            for k, iv in d.items()} for m, d in per.items()}
                    for s, per in self.differences.items()}
        return {'classes': list(self.classes), 'folded': self.folded,
                'thresholds': self.thresholds,
                'height_buckets_px': {k: [lo, None if hi == float('inf') else hi]
                                      for k, (lo, hi) in HEIGHT_BUCKETS.items()},
                'sources': self.sources, 'models': self.models,
                'figures': table(self.figures), 'differences': table(self.differences),
                'verdicts': verdicts, 'resamples': self.resamples, 'seed': self.seed,
                'level': self.level, 'person_boxes_by_height': self.person_boxes,
                'pooled_sources': [s['name'] for s in self.sources if s['pooled']]}


def class_plan(model_names: Sequence[Sequence[str]]) -> tuple[tuple[str, ...], dict[str, str]]:
    """Classes scored and the folds: a class some model lacks is scored as its FOLD parent."""
    folded = {c: p for c, p in FOLD.items()
              if any(map_class(c, names, 'model') is None for names in model_names)}
    return tuple(c for c in BENCH_CLASSES if c not in folded), folded


def _eval_ids(classes: Sequence[str], folded: dict[str, str]) -> np.ndarray:
    """BENCH_CLASSES id -> scored class id (-1: not scored)."""
    return np.array([classes.index(folded.get(c, c)) if folded.get(c, c) in classes else -1
                     for c in BENCH_CLASSES], np.int64)


def _truth(frame: FrameTruth, to_eval: np.ndarray) -> FrameTruth:
    ids = to_eval[frame.class_ids] if len(frame.class_ids) else frame.class_ids
    keep = ids >= 0
    return FrameTruth(frame.key, frame.xyxy[keep], ids[keep], frame.ignore[keep],
                      frame.image_shape, frame.object_ids[keep])


def _labelled(frames: Sequence[BenchFrame], classes: Sequence[str],
              folded: dict[str, str]) -> np.ndarray:
    out = np.zeros((len(frames), len(classes)), bool)
    for f, frame in enumerate(frames):
        for c in frame.labelled:
            c = folded.get(c, c)
            if c in classes:
                out[f, classes.index(c)] = True
    return out


def evaluate_model(detector, frames: Sequence[BenchFrame], classes: Sequence[str],
                   folded: dict[str, str], progress: Callable[[str, int], None] | None = None
                   ) -> ReplayMetrics:
    """Detect on every frame and match with its truth (classes mapped by name, then folded)."""
    to_eval = _eval_ids(classes, folded)
    model_to_eval = np.array([to_eval[b] if b is not None else -1 for b in
                              (map_class(n, BENCH_CLASSES, 'model') for n in detector.names)]
                             + [-1], np.int64)
    metrics = ReplayMetrics(classes)
    for i, (frame, image) in enumerate(iter_images(frames)):
        dets = detector(image)
        ids = model_to_eval[dets.class_ids] if len(dets.class_ids) else dets.class_ids
        keep = ids >= 0
        h, w = image.shape[:2]
        metrics.add(i, frame.key, i, _truth(frame.truth, to_eval).clipped(h, w),
                    dets.xyxy[keep], dets.scores[keep], ids[keep])
        if progress is not None:
            progress(frame.source, i)
    return metrics


class _Progress:
    """One line per source and model: frames done, rate and ETA (stderr)."""

    def __init__(self, label: str, frames: Sequence[BenchFrame], enabled: bool) -> None:
        self.label, self.enabled = label, enabled
        self.totals: dict[str, int] = {}
        for f in frames:
            self.totals[f.source] = self.totals.get(f.source, 0) + 1
        self.source, self.done, self.t0 = None, 0, time.perf_counter()

    def __call__(self, source: str, _: int) -> None:
        if not self.enabled:
            return
        if source != self.source:
            if self.source is not None:
                sys.stderr.write('\n')
            self.source, self.done, self.t0 = source, 0, time.perf_counter()
        self.done += 1
        total = self.totals[source]
        rate = self.done / max(time.perf_counter() - self.t0, 1e-9)
        eta = (total - self.done) / rate
        sys.stderr.write(f'\r{self.label} {source}: {self.done}/{total} frames, '
                         f'{rate:.1f} frames/s, ETA {eta:.0f} s   ')
        if self.done == total:
            sys.stderr.write('\n')
            self.source = None
        sys.stderr.flush()


def _load_detector(model, conf: float, backend: str | None = None):
    from ..detector import Detector

    if not isinstance(model, (str, os.PathLike)):
        return model
    if not Path(model).is_file():
        raise MissingSourceError(f'model {model} not found (expected an ONNX from '
                                 '`vru-train export` / `vru-train calibrate`, or a .pt)')
    return Detector(model, backend=backend, conf=conf)


def backend_name(detector) -> str:
    """Return the runtime a Detector runs on ('' for other detector objects)."""
    return getattr(getattr(detector, 'backend', None), 'name', '')


def _names_for(models: Sequence, names: Sequence[str] | None) -> list[str]:
    if names is not None:
        if len(names) != len(models):
            raise ValueError(f'{len(names)} names for {len(models)} models')
        return list(names)
    out = []
    for i, m in enumerate(models):
        stem = Path(m).stem if isinstance(m, (str, os.PathLike)) else f'model{i + 1}'
        out.append(stem if stem not in out else f'{stem}_{i + 1}')
    return out


def scopes_of(sources: Sequence[BenchSource]) -> dict[str, list[int]]:
    """Frame positions of each source and of the pooled set (all frames in source order)."""
    out: dict[str, list[int]] = {}
    start = 0
    for s in sources:
        out[s.name] = list(range(start, start + len(s.frames)))
        start += len(s.frames)
    pooled = [i for s in sources if s.pooled for i in out[s.name]]
    if sum(s.pooled for s in sources) > 1:
        out[POOLED_SCOPE] = pooled
    return out


def scope_replays(runs: Sequence[ModelRun], srcs: Sequence[BenchSource], folded: dict[str, str]
                  ) -> dict[str, tuple[list[str], list[WeightedReplay]]]:
    """
    Per scope: each frame's bootstrap group and each run's re-weightable figures.

    The building block of :func:`summarize`, public for comparisons it does not make (a
    difference of two INT8 drops, a mean over seeds: ``bootstrap.contrast`` over
    :func:`statistics` of these).
    """
    frames = [f for s in srcs for f in s.frames]
    classes = runs[0].metrics.names
    thresholds = node_thresholds(classes)
    labelled = _labelled(frames, classes, folded)
    out = {}
    for scope, positions in scopes_of(srcs).items():
        groups = [f'{frames[p].source}/{frames[p].group}' for p in positions]
        out[scope] = (groups, [WeightedReplay(r.metrics, thresholds, labelled[positions],
                                              positions) for r in runs])
    return out


def statistics(w: WeightedReplay) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    """Each figure of ``METRICS`` as a function of frame weights [B, F] -> [B]."""
    person = w.class_index('person')
    stats = {'person_ap50': lambda x: w.ap50(x, person), 'map50': w.map50,
             'recall': lambda x: w.recall(x, person),
             'fp_per_frame': lambda x: w.false_positives_per_frame(x, person)}
    for h in HEIGHT_BUCKETS:
        stats[f'recall_{h}'] = (lambda hh: lambda x: w.recall(x, person, hh))(h)
    return stats


def run_benchmark(models: Sequence, data_root: str | Path | None = None,
                  sources: Sequence[str] = SOURCES, names: Sequence[str] | None = None,
                  resamples: int = RESAMPLES, seed: int = SEED, progress: bool = True,
                  loaded: Sequence[BenchSource] | None = None,
                  backend: str | None = None) -> BenchmarkResult:
    """
    Evaluate ``models`` (paths to ONNX / .pt, or Detectors) on the benchmark sources.

    The first model is the reference of the paired differences. ``loaded`` reuses sources
    already read with ``bench_sources.load_sources``. ``backend`` runs every model file on
    that runtime (default: the one each file implies).
    """
    if not models:
        raise ValueError('give at least one model')
    srcs = list(loaded) if loaded is not None else \
        load_sources(data_root or default_data_root(), sources)
    frames = [f for s in srcs for f in s.frames]
    labels = _names_for(models, names)
    detectors = [_load_detector(m, EVAL_CONF, backend) for m in models]
    classes, folded = class_plan([d.names for d in detectors])
    runs = []
    for i, (label, det, model) in enumerate(zip(labels, detectors, models)):
        t0 = time.perf_counter()
        bar = _Progress(f'[model {i + 1}/{len(models)}] {label}', frames, progress)
        metrics = evaluate_model(det, frames, classes, folded, bar)
        runs.append(ModelRun(label, str(model), det.info.precision, det.info.input_shape,
                             metrics, time.perf_counter() - t0, backend_name(det)))
    return summarize(runs, srcs, folded, resamples, seed, progress)


def summarize(runs: Sequence[ModelRun], srcs: Sequence[BenchSource], folded: dict[str, str],
              resamples: int = RESAMPLES, seed: int = SEED, progress: bool = False
              ) -> BenchmarkResult:
    """Intervals of every figure and paired differences vs ``runs[0]``, per scope."""
    classes = runs[0].metrics.names
    thresholds = node_thresholds(classes)
    figures: dict = {}
    differences: dict = {}
    person_boxes: dict = {}
    for scope, (groups, replays) in scope_replays(runs, srcs, folded).items():
        person = replays[0].class_index('person')
        person_boxes[scope] = {h: replays[0].gt_count(person, h) for h in HEIGHT_BUCKETS}
        person_boxes[scope]['all'] = replays[0].gt_count(person)
        stats = [statistics(w) for w in replays]
        figures[scope] = {r.name: {k: interval(st[k], groups, n_resamples=resamples, seed=seed)
                                   for k, _, _ in METRICS} for r, st in zip(runs, stats)}
        differences[scope] = {
            r.name: {k: paired_difference(stats[0][k], st[k], groups, n_resamples=resamples,
                                          seed=seed) for k, _, _ in METRICS}
            for r, st in zip(runs[1:], stats[1:])}
        if progress:
            sys.stderr.write(f'intervals: {scope} done\n')
    source_info = [{'name': s.name, 'pooled': s.pooled, 'frames': len(s.frames),
                    'groups': s.groups, 'note': s.note, 'spacing': s.spacing,
                    'boxes': {c: s.boxes(c) for c in BENCH_CLASSES}} for s in srcs]
    model_info = [{'name': r.name, 'path': r.path, 'precision': r.precision,
                   'input_size': list(r.input_shape), 'wall_s': round(r.wall_s, 1),
                   'backend': r.backend}
                  for r in runs]
    return BenchmarkResult(tuple(classes), folded, dict(zip(classes, map(float, thresholds))),
                           source_info, model_info, figures, differences, resamples, seed,
                           LEVEL, list(runs), person_boxes)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog='vru-benchmark', description=__doc__.split('\n\n')[0].strip(),
        epilog='Exit status 2: a model or data source is missing or unreadable.')
    p.add_argument('models', nargs='+',
                   help='ONNX (FP32 / INT8 Q/DQ) or .pt models; the first is the reference '
                        'of the paired differences')
    p.add_argument('--names', nargs='+', help='display names, one per model (default: stems)')
    p.add_argument('--data-root', default=default_data_root(),
                   help='folder holding bdd100k_vru, street_vru, videos, coco_vru '
                        '(default: $VRU_SHARED_DATA or ../shared/data)')
    p.add_argument('--sources', nargs='+', default=list(SOURCES), choices=SOURCES,
                   help='sources to evaluate (default: all; coco_vru is never pooled)')
    p.add_argument('--resamples', type=int, default=RESAMPLES, help='bootstrap resamples')
    p.add_argument('--seed', type=int, default=SEED, help='bootstrap seed')
    p.add_argument('--out', default='runs/benchmark',
                   help='folder for benchmark.json and benchmark.md')
    p.add_argument('--backend', choices=('onnxruntime', 'openvino'), default=None,
                   help='runtime for every model file (default: the one the file implies: '
                        'OpenVINO for .onnx on a CPU when installed, else ONNX Runtime)')
    p.add_argument('--quiet', action='store_true', help='no progress lines')
    return p


def main(argv: Sequence[str] | None = None) -> int:
    from .bench_report import markdown, write_outputs

    args = build_parser().parse_args(argv)
    if args.resamples < 100:
        print(f'error: --resamples {args.resamples} is too few for a 95% interval; use >= 100 '
              f'(default {RESAMPLES})', file=sys.stderr)
        return 2
    try:
        require('eval', 'vru-benchmark')
        result = run_benchmark(args.models, args.data_root, args.sources, args.names,
                               args.resamples, args.seed, not args.quiet,
                               backend=args.backend)
    except (MissingSourceError, LabelFormatError, VruDetectorError, ImportError,
            ValueError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    paths = write_outputs(result, args.out)
    print(markdown(result))
    print(f'wrote {paths["json"]} and {paths["md"]}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
