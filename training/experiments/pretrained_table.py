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
The papers' table from one pipeline run folder, with the three questions answered from it.

Reads what the pipeline wrote (``evaluate/metrics.json``, each training stage's
``train/start.json``, ``manifest.json``) and writes a markdown page and its plot. Works on a
partial run too: missing rows and answers say what is still to run.

    python -m training.experiments.pretrained_table runs/pretrained_cpu --doc docs/results/X.md
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

ROWS = (('teacher', 'teacher', 'teacher'),
        ('plain_student', 'direct student', 'student'),
        ('kd_student', 'KD student', 'distill'),
        ('pruned_kd_student', 'pruned KD student', 'prune'))
PAPER = {'teacher_int8': -23.0, 'kd_int8': -5.6, 'prune_params': -73.5, 'prune_ap50': -2.7}


def _pct(x: float | None, digits: int = 1) -> str:
    return '-' if x is None else f'{100 * x:.{digits}f}'


def _get(d: dict[str, Any] | None, *keys: str) -> Any:
    for key in keys:
        if not isinstance(d, dict):
            return None
        d = d.get(key)
    return d


def int8_change(row: dict[str, Any], metric: str = 'map50') -> float | None:
    """(INT8 - FP32) / FP32 of ``metric``: negative when INT8 is worse, as the papers quote."""
    fp32, int8 = _get(row, 'fp32', metric), _get(row, 'int8', metric)
    if fp32 is None or int8 is None or fp32 == 0:
        return None
    return (int8 - fp32) / fp32


def load_run(run: Path) -> dict[str, Any]:
    """Read the evaluate rows by model, start/trained records by stage, and the manifest."""
    metrics = run / 'evaluate' / 'metrics.json'
    rows = {r['model']: r for r in json.loads(metrics.read_text())} if metrics.is_file() else {}
    manifest_path = run / 'manifest.json'
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    starts = {}
    for _, _, stage in ROWS:
        for folder in (run / stage, run / f'{stage}.partial'):
            start = folder / 'train' / 'start.json'
            if start.is_file():
                starts[stage] = json.loads(start.read_text())
                break
    return {'rows': rows, 'starts': starts, 'manifest': manifest, 'path': run,
            'seed': seed_of(manifest)}


def seed_of(manifest: dict[str, Any]) -> int | None:
    """Return the students' seed a run used (from its manifest), or None when not recorded."""
    for stage in ('distill', 'student', 'teacher'):
        seed = _get(manifest, 'stages', stage, 'inputs', 'settings', 'seed')
        if seed is not None:
            return int(seed)
    return None


def main_table(rows: dict[str, Any], extra: list[dict[str, Any]] | None = None) -> list[str]:
    """Tabulate each model of the main run, then the students of further seeds' runs."""
    head = ('| model | params (M) | GFLOPs | mAP50 FP32 / INT8 | mAP50-95 FP32 / INT8 '
            '| person AP50 FP32 / INT8 | INT8 change of mAP50 | P / R @0.25 INT8 '
            '| P / R @0.001 INT8 | P at equal recall FP32 / INT8 | ORT CPU ms FP32 / INT8 |')
    lines = [head, '|---|' + '---:|' * (head.count('|') - 2)]
    entries = [(label, rows.get(key)) for key, label, _ in ROWS]
    for run in extra or []:
        entries += [(f'{label} (seed {run["seed"]})', run['rows'][key])
                    for key, label, _ in ROWS if key in run['rows'] and key != 'teacher']
    for label, r in entries:
        if r is None:
            lines.append(f'| {label} | not run yet |' + ' |' * (head.count('|') - 3))
            continue
        change = int8_change(r)
        lines.append('| ' + ' | '.join([
            label, f'{r["params"] / 1e6:.2f}', f'{r["gflops"]:.1f}',
            f'{_pct(_get(r, "fp32", "map50"))} / {_pct(_get(r, "int8", "map50"))}',
            f'{_pct(_get(r, "fp32", "map50_95"))} / {_pct(_get(r, "int8", "map50_95"))}',
            f'{_pct(_get(r, "fp32", "ap50", "person"))} / '
            f'{_pct(_get(r, "int8", "ap50", "person"))}',
            '-' if change is None else f'{100 * change:+.1f}%',
            f'{_pct(_get(r, "int8", "precision_at_0.25"))} / '
            f'{_pct(_get(r, "int8", "recall_at_0.25"))}',
            f'{_pct(_get(r, "int8", "precision_at_0.001"))} / '
            f'{_pct(_get(r, "int8", "recall_at_0.001"))}',
            f'{_pct(r.get("fp32_precision_at_equal_recall"))} / '
            f'{_pct(r.get("int8_precision_at_equal_recall"))}',
            f'{r.get("fp32_latency_ms", float("nan")):.1f} / '
            f'{r.get("int8_latency_ms", float("nan")):.1f}']) + ' |')
    return lines


def start_table(starts: dict[str, Any]) -> list[str]:
    lines = ['| stage | start | imgsz | epochs | person AP50 start -> trained '
             '| mAP50 start -> trained | classes |', '|---|---|---:|---:|---:|---:|---|']
    for _, label, stage in ROWS:
        s = starts.get(stage)
        if s is None:
            continue
        start, trained = s.get('start', {}), s.get('trained')
        kept = ', '.join(k if k == v else f'{k}<-{v}' for k, v in s['transfer']['kept'].items())
        fresh = ', '.join(s['transfer']['fresh'])
        lines.append('| ' + ' | '.join([
            label, Path(s['transfer']['weights']).name, str(s['imgsz']),
            str(s.get('epochs', '-')),
            f'{_pct(_get(start, "ap50", "person"))} -> '
            f'{_pct(_get(trained, "ap50", "person")) if trained else "running"}',
            f'{_pct(start.get("map50"))} -> '
            f'{_pct(trained.get("map50")) if trained else "running"}',
            f'kept: {kept or "none"}; fresh: {fresh or "none"}']) + ' |')
    return lines


def _kd_vs_direct(rows: dict[str, Any], starts: dict[str, Any] | None
                  ) -> tuple[bool, float, float, float | None, float | None] | None:
    """Return (evaluated?, KD mAP50, direct mAP50, KD person AP50, direct person AP50)."""
    d, k = rows.get('plain_student'), rows.get('kd_student')
    if d and k:
        return (True, k['fp32']['map50'], d['fp32']['map50'], _get(k, 'fp32', 'ap50', 'person'),
                _get(d, 'fp32', 'ap50', 'person'))
    trained = {stage: r['trained'] for stage, r in (starts or {}).items() if r.get('trained')}
    if {'student', 'distill'} <= set(trained):
        ks, ds = trained['distill'], trained['student']
        return (False, ks['map50'], ds['map50'], _get(ks, 'ap50', 'person'),
                _get(ds, 'ap50', 'person'))
    return None


def _verdict(gains: list[float]) -> str:
    if all(g > 0 for g in gains):
        return 'yes'
    return 'no' if all(g <= 0 for g in gains) else 'mixed'


def answers(rows: dict[str, Any], starts: dict[str, Any] | None = None,
            extra: list[dict[str, Any]] | None = None, seed: int | None = None) -> list[str]:
    """
    Questions (a), (b), (c), each answered from the numbers or marked as still to run.

    ``extra``: runs of further seeds (loaded by :func:`load_run`); (a) is then answered over
    every seed, (b) and (c) list each seed's KD and pruned students.
    """
    extra = extra or []
    t, k, p = (rows.get(x) for x in ('teacher', 'kd_student', 'pruned_kd_student'))
    out = []
    question = '- **(a) Does KD beat the direct student (same start, epochs, seed)?** '
    first = _kd_vs_direct(rows, starts)
    more = [(run['seed'], _kd_vs_direct(run['rows'], run['starts'])) for run in extra]
    more = [(seed, c) for seed, c in more if c is not None]
    if first is None:
        out.append('- **(a)** not answered yet: the direct and KD students have not both run.')
    elif not more:
        evaluated, km, dm, kp, dp = first
        where = ': FP32' if evaluated else (' at the training size (PyTorch; the ONNX '
                                            'evaluation has not run yet):')
        out.append(f'{question}**{_verdict([km - dm])}**{where} mAP50 {_pct(km)} vs {_pct(dm)} '
                   f'({100 * (km - dm):+.1f} points); person AP50 {_pct(kp)} vs {_pct(dp)}.')
    else:
        seeds = [(seed, first)] + more
        gains = [c[1] - c[2] for _, c in seeds]
        parts = [f'seed {"?" if s is None else s}: mAP50 {_pct(c[1])} vs {_pct(c[2])} '
                 f'({100 * (c[1] - c[2]):+.1f} points), person AP50 {_pct(c[3])} vs '
                 f'{_pct(c[4])}' for s, c in seeds]
        out.append(f'{question}**{_verdict(gains)}** over {len(seeds)} seeds (FP32 where '
                   f'evaluated): {"; ".join(parts)}; mean {100 * sum(gains) / len(gains):+.1f} '
                   'points.')
    kd_rows = [('KD student', k)] + [(f'KD student (seed {run["seed"]})',
                                      run['rows'].get('kd_student')) for run in extra]
    kd_rows = [(label, r) for label, r in kd_rows if r and int8_change(r) is not None]
    if t and int8_change(t) is not None and kd_rows:
        tc = int8_change(t)
        changes = [int8_change(r) for _, r in kd_rows]
        verdict = _verdict([abs(min(tc, 0)) - abs(min(c, 0)) for c in changes])
        listed = ', '.join(f'{label} {100 * c:+.1f}%' for (label, _), c in zip(kd_rows, changes))
        out.append("- **(b) Is the KD student's INT8 drop smaller than the teacher's?** "
                   f'**{verdict}**: teacher {100 * tc:+.1f}%, {listed} '
                   f'(relative mAP50 change at INT8; the paper: teacher '
                   f'{PAPER["teacher_int8"]}%, KD student {PAPER["kd_int8"]}%).')
    else:
        out.append('- **(b)** not answered yet: teacher and KD student INT8 rows missing.')
    pairs = [('', k, p)] + [(f' (seed {run["seed"]})', run['rows'].get('kd_student'),
                             run['rows'].get('pruned_kd_student')) for run in extra]
    pairs = [(label, kk, pp) for label, kk, pp in pairs if kk and pp]
    if pairs:
        results = [(label, 1 - pp['params'] / kk['params'],
                    100 * (pp['fp32']['map50'] - kk['fp32']['map50']), kk, pp)
                   for label, kk, pp in pairs]
        verdict = _verdict([1.0 if cut >= 0.5 and points >= -3 else -1.0
                            for _, cut, points, _, _ in results])
        listed = '; '.join(f'parameters {100 * -cut:+.1f}% ({kk["params"] / 1e6:.2f}M -> '
                           f'{pp["params"] / 1e6:.2f}M), mAP50 {points:+.1f} points FP32{label}'
                           for label, cut, points, kk, pp in results)
        out.append(f'- **(c) Does pruning + KD fine-tuning cut >= 50% of the parameters for '
                   f'<= 3 AP50 points?** **{verdict}**: {listed} (the paper: '
                   f'{PAPER["prune_params"]}% for {PAPER["prune_ap50"]}).')
    else:
        out.append('- **(c)** not answered yet: the pruned KD student has not run.')
    return out


def plot(rows: dict[str, Any], path: Path) -> Path | None:
    """Plot grouped bars: mAP50 and person AP50, FP32 and INT8, per model."""
    present = [(key, label) for key, label, _ in ROWS if key in rows]
    if not present:
        return None
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import numpy as np

    series = [('mAP50 FP32', ('fp32', 'map50')), ('mAP50 INT8', ('int8', 'map50')),
              ('person AP50 FP32', ('fp32', 'ap50', 'person')),
              ('person AP50 INT8', ('int8', 'ap50', 'person'))]
    x = np.arange(len(present))
    fig, ax = plt.subplots(figsize=(8, 4))
    for i, (name, keys) in enumerate(series):
        values = [100 * (_get(rows[key], *keys) or 0.0) for key, _ in present]
        ax.bar(x + (i - 1.5) * 0.2, values, 0.2, label=name)
    ax.set_xticks(x, [label for _, label in present])
    ax.set_ylabel('% on bdd100k_vru val')
    ax.legend(fontsize=8)
    ax.grid(axis='y', alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def render(run: Path | list[Path], doc: Path, command: str) -> str:
    """
    Write ``doc`` (and its plot beside it) from the run folder(s); returns the markdown.

    The first run is the main one (teacher and students); further runs are other seeds of the
    students (``vru-train pipeline --seed N --teacher MAIN/teacher/teacher.pt``).
    """
    runs = [run] if isinstance(run, Path) else list(run)
    loaded, extra = load_run(runs[0]), [load_run(r) for r in runs[1:]]
    rows, manifest = loaded['rows'], loaded['manifest']
    stages = manifest.get('stages', {})
    times = ', '.join(f'{name} {v.get("seconds", 0) / 60:.0f} min' for name, v in stages.items()
                      if v.get('status') == 'complete')
    image = plot(rows, doc.with_suffix('.png'))
    lines = [
        f"# The papers' table from pretrained weights on a 2-core CPU ({doc.stem[:10]})", '',
        f'Command: `{command}` (resumable: the same command continues an interrupted run).',
        f'Run folder: `{runs[0]}`. Completed stages and their wall time on this shared '
        f'machine: {times or "none yet"}. {_seeds_line(loaded, extra)}', '',
        "Evaluated by ultralytics' validator on the exported ONNX files (ONNX Runtime, CPU, "
        'batch 1, conf 0.001) on bdd100k_vru val (100 frames, 155 pedestrians); INT8 is the '
        'explicit Q/DQ model. P / R @0.25: class-mean precision and recall of detections '
        "scoring >= 0.25 (the node's default threshold); @0.001 likewise at the evaluation "
        'threshold. P at equal recall: class-mean precision at the highest recall every model '
        "reaches. Latency: median single-thread inference through vru_detector's ONNX "
        'Runtime backend on this shared CPU (compare within a column only).', '',
        *main_table(rows, extra), '',
        *([f'![accuracy]({image.name})', ''] if image else []),
        '## Start and end of each training stage (PyTorch validation at the training size)', '',
        *start_table(loaded['starts']), '',
        *[line for r in extra for line in (f'Seed {r["seed"]} (`{r["path"]}`):', '',
                                           *start_table(r['starts']), '')],
        '## The three questions', '',
        *answers(rows, loaded['starts'], extra, seed=loaded['seed']), '']
    text = '\n'.join(lines)
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text)
    return text


def _seeds_line(main: dict[str, Any], extra: list[dict[str, Any]]) -> str:
    if not extra:
        return f'One seed ({main["seed"] if main["seed"] is not None else "?"}).'
    others = ', '.join(str(r['seed']) for r in extra)
    return (f'Seeds: {main["seed"]} (teacher and students) and {others} (the students again, '
            f'against the same teacher).')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog='python -m training.experiments.pretrained_table',
        description="Write the papers' table from a pipeline run folder.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument('run', type=Path, nargs='+',
                        help='pipeline run folder (vru-train pipeline --out); further folders: '
                             "other seeds of the students, against the first one's teacher")
    parser.add_argument('--doc', type=Path, required=True, help='markdown file to write')
    parser.add_argument('--command', default='bash training/experiments/pretrained_cpu.sh',
                        help='the command quoted in the page')
    args = parser.parse_args(argv)
    for run in args.run:
        if not run.is_dir():
            print(f"pretrained_table: {run} is not a run folder (give vru-train pipeline's "
                  '--out folder)')
            return 2
    print(render(args.run, args.doc, args.command))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
