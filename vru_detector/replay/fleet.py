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
``vru-eval-bag`` over many bags: every bag a task (Ray, local by default), pooled figures.

Writes OUT/fleet.json (rows, pooled metrics, gate) and OUT/fleet.md, keeps each finished bag
under OUT/bags/ so a rerun evaluates only what changed, and exits 1 when a bag failed (its row
says why; the others still count) and 3 when ``--baseline-model`` shows a significant
regression.
"""
from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path
import sys
from typing import Sequence

import numpy as np

from .bag_images import read_metadata
from .bag_task import BagResult, EvalSettings, load_detector, ModelSource, sha256_file
from .errors import BagReadError
from .fleet_gate import gate, gate_table, intervals_line, pooled_intervals
from .fleet_inputs import bag_names, bag_sha256, find_bags
from .fleet_report import bag_row, markdown_table, pooled_metrics, pooled_row
from .fleet_runner import (BagJob, RAY_MISSING, ResultStore, run_ray, run_sequential,
                           start_ray)
from ..errors import VruDetectorError
from ..extras import require
from ..labels import LabelFormatError

EXIT_BAG_FAILED = 1
EXIT_USAGE = 2
EXIT_REGRESSION = 3


def settings_from(args: argparse.Namespace, conf: Sequence[float]) -> EvalSettings:
    """Return the task settings; ``conf``: the operating threshold of each class."""
    return EvalSettings(args.image_topic, args.gt_topic, tuple(float(c) for c in conf),
                        args.eval_conf, args.iou,
                        args.backend, args.device, args.threads or 1, args.max_frames,
                        args.realtime, args.tracking)


def model_source(path: Path, what: str) -> ModelSource:
    if not path.is_file():
        raise VruDetectorError(f'{what} {path}: no such model file')
    return ModelSource(path.name, sha256_file(path), str(path.resolve()))


def check_args(args: argparse.Namespace) -> None:
    if args.labels is not None:
        raise VruDetectorError(
            "--labels names one label set, but several bags are evaluated: store each bag's "
            'ground truth in the bag (vru-make-bag --labels) and pass --gt-topic')
    for flag in ('write_bag', 'label_images'):
        if getattr(args, flag):
            raise VruDetectorError(f'--{flag.replace("_", "-")} works on one bag only')
    if args.workers < 0:
        raise VruDetectorError(f'--workers {args.workers}: must be >= 0 (0: no Ray)')


def image_frames(bag: Path, topic: str) -> int:
    """Messages on ``topic`` by metadata.yaml (0 if unknown): the progress bar's total."""
    for t in read_metadata(bag if bag.is_dir() else bag.parent).get(
            'topics_with_message_count', []) or []:
        if t.get('topic_metadata', {}).get('name') == topic:
            return int(t.get('message_count') or 0)
    return 0


def evaluate(jobs: Sequence[BagJob], settings: EvalSettings, store: ResultStore,
             args: argparse.Namespace) -> dict[BagJob, BagResult]:
    """Return the result of every job: stored ones, then the rest on Ray or in this process."""
    from tqdm import tqdm

    results = {job: r for job in jobs if (r := store.load(job)) is not None}
    todo = [job for job in jobs if job not in results]
    if results:
        print(f'{len(results)} of {len(jobs)} bag evaluations already done in {store.folder} '
              '(same model, bag and settings): skipped', file=sys.stderr)
    frames = {job: image_frames(job.bag, settings.image_topic) for job in todo}
    bar = tqdm(total=sum(frames.values()), unit='frame', desc=f'bags 0/{len(todo)}',
               disable=args.no_progress or not todo)

    def on_result(job: BagJob, result: BagResult) -> None:
        store.save(job, result)
        results[job] = result
        bar.set_description(f'bags {len(results) - len(jobs) + len(todo)}/{len(todo)}',
                            refresh=False)
        bar.update(frames[job])
        if result.error:
            bar.write(f'{job.name}: error: {result.error}')

    use_ray = args.workers > 0 and todo
    started = False
    if use_ray:
        try:
            started = start_ray(args.workers, args.address)
        except VruDetectorError:
            if args.address:
                raise
            print(f'warning: {RAY_MISSING}; evaluating one bag after another', file=sys.stderr)
            use_ray = False
    try:
        (run_ray if use_ray else run_sequential)(todo, settings, on_result)
    finally:
        bar.close()
        if started:
            import ray

            ray.shutdown()
    return results


def write_outputs(out: Path, text: str, rows: list[dict], pooled: dict, extra: dict) -> None:
    from . import report

    out.mkdir(parents=True, exist_ok=True)
    report.write_json(out / 'fleet.json', {'bags': rows, 'pooled': pooled, **extra})
    (out / 'fleet.md').write_text('# Fleet evaluation\n\n' + text)


def run_fleet(args: argparse.Namespace) -> int:
    """Run the many-bags command; ``args`` as ``evaluate_bag.build_parser`` parses them."""
    from .evaluate_bag import operating_thresholds

    try:
        require('eval', 'vru-eval-bag')
        check_args(args)
        model = model_source(args.model, '--model')
        baseline = None if args.baseline_model is None else \
            model_source(args.baseline_model, '--baseline-model')
        settings = settings_from(args, [])
        classes = None
        for m in (model, baseline):
            if m is not None:  # a bad model file fails here, not in every task
                detector = load_detector(m, settings)
                if classes is not None and detector.names != classes:
                    raise VruDetectorError(f'--baseline-model classes {detector.names} differ '
                                           f'from --model classes {classes}: nothing to pair')
                classes = detector.names
        conf = operating_thresholds(args, classes)
        settings = settings_from(args, conf)
        bags = find_bags(args.bag)
    except (VruDetectorError, LabelFormatError, BagReadError, ValueError) as exc:
        print(f'vru-eval-bag: error: {exc}', file=sys.stderr)
        return EXIT_USAGE
    conf = np.asarray(settings.conf)
    names = bag_names(bags)
    hashes = [bag_sha256(b) for b in bags]
    jobs = {m.sha256: [BagJob(b, n, h, m) for b, n, h in zip(bags, names, hashes)]
            for m in (model, baseline) if m is not None}
    store = ResultStore(args.out / 'bags', settings)
    try:
        results = evaluate([j for js in jobs.values() for j in js], settings, store, args)
    except VruDetectorError as exc:
        print(f'vru-eval-bag: error: {exc}', file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print('vru-eval-bag: interrupted; finished bags are kept in '
              f'{store.folder} and skipped on the next run', file=sys.stderr)
        return 130
    mine = [results[j] for j in jobs[model.sha256]]
    rows = [bag_row(n, r, conf) for n, r in zip(names, mine)]
    pooled = pooled_row(mine, conf)
    extra: dict = {'model': str(args.model), 'model_sha256': model.sha256,
                   'settings': asdict(settings), 'bag_sha256': dict(zip(names, hashes))}
    merged = pooled_metrics(mine)
    if merged is not None:
        summary = merged.summary(conf)
        summary.pop('missed_vru')
        extra['pooled_metrics'] = summary
        read = [(n, r) for n, r in zip(names, mine) if r.frames]
        if read:
            extra['pooled_intervals'] = pooled_intervals(*zip(*read), conf)
    code = 0
    if baseline is not None:
        base = [results[j] for j in jobs[baseline.sha256]]
        extra['gate'] = gate(names, mine, base, conf)
        extra['baseline_model'] = str(args.baseline_model)
    text = markdown_table([*rows, pooled]) + intervals_line(extra.get('pooled_intervals'))
    if 'gate' in extra:
        text += gate_table(extra['gate'])
    write_outputs(args.out, text, rows, pooled, extra)
    print(text, end='')
    if 'gate' in extra:
        if extra['gate']['regression']:
            print(f'vru-eval-bag: regression: {extra["gate"]["verdict"]}', file=sys.stderr)
            code = EXIT_REGRESSION
    failed = [j.name for j, r in results.items() if r.error]
    if failed:
        print(f'vru-eval-bag: error: {len(failed)} of {len(results)} bag evaluations failed '
              f'({", ".join(sorted(set(failed)))}; errors in the table); the pooled figures '
              'cover the frames that were read', file=sys.stderr)
        code = code or EXIT_BAG_FAILED
    print(f'report in {args.out / "fleet.md"}')
    return code
