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
What ``vru-train pipeline`` prints: where it is, how long is left, and a short result.

- :class:`StageProgress` prints ``[stage 3/7] distill: running (12m04s elapsed, ETA ~9m)``
  before each stage. The ETA spreads the time the run has taken so far over the work that
  is left, counted in training epochs (export, calibrate and evaluate count one each).
- :func:`quiet_ultralytics` drops ultralytics log lines a user cannot act on: one ``Freezing
  layer`` line per frozen teacher parameter (hundreds in a KD run), and the scale-guess,
  one-to-one-head and ``half`` deprecation warnings our own calls trigger.
- :func:`final_summary` ends the run with the accuracy table and the deployable model's path.
"""
from __future__ import annotations

import logging
from pathlib import Path
import re
import time
from typing import Any, Mapping, Sequence

from .benchmark_eval import summary_lines

NOISE = tuple(re.compile(p) for p in (
    r"^Freezing layer '",                # every teacher parameter of a KD run (ultralytics)
    r'no model scale passed',            # our yaml names the scale; ultralytics guesses anyway
    r'no one-to-one head',               # YOLOv8 heads have none; said for every validation
    r"'half' is deprecated",             # ultralytics' own exporter calls pass it
))


def drop_noise(record: logging.LogRecord) -> bool:
    """Log filter: False for the records in :data:`NOISE`."""
    message = record.getMessage()
    return not any(p.search(message) for p in NOISE)


def quiet_ultralytics() -> None:
    """Install :func:`drop_noise` on ultralytics' logger (idempotent)."""
    logger = logging.getLogger('ultralytics')
    if drop_noise not in logger.filters:
        logger.addFilter(drop_noise)


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f'{hours}h{rest // 60:02d}m' if hours else f'{rest // 60}m{rest % 60:02d}s'


class StageProgress:
    """``[stage k/n]`` lines with elapsed time and an ETA weighted by each stage's work."""

    def __init__(self, units: Mapping[str, float], out=print) -> None:
        self.units = dict(units)  # stage -> work (epochs), in run order
        self.t0 = time.monotonic()
        self.done: dict[str, float] = {}  # stage -> seconds it ran (0 when up to date)
        self.out = out
        self._current: tuple[str, float] | None = None

    def start(self, stage: str) -> None:
        """Announce ``stage`` (finishing the previous one) with elapsed time and ETA."""
        self._finish()
        names = list(self.units)
        elapsed = time.monotonic() - self.t0
        ran = {s: self.units[s] for s, sec in self.done.items() if sec >= 1.0}
        left = sum(self.units[s] for s in names if s not in self.done)
        eta = (f'ETA ~{_clock(elapsed / sum(ran.values()) * left)}' if sum(ran.values())
               else 'ETA after the first stage')
        self.out(f'[stage {names.index(stage) + 1}/{len(names)}] {stage}: '
                 f'{_clock(elapsed)} elapsed, {eta}')
        self._current = (stage, time.monotonic())

    def _finish(self) -> None:
        if self._current is not None:
            stage, started = self._current
            self.done[stage] = time.monotonic() - started
            self._current = None

    def elapsed(self) -> str:
        """Return the whole run's time so far, finishing the current stage."""
        self._finish()
        return _clock(time.monotonic() - self.t0)


def final_summary(out: Path, report: Path, rows: Sequence[Mapping[str, Any]],
                  deployed: Mapping[str, Any], elapsed: str,
                  start_verdict: Mapping[str, Any] | None = None) -> str:
    """Return the lines a user reads at the end: mAP50 per model, and the model to deploy."""
    def pct(row: Mapping[str, Any], precision: str) -> str:
        value = (row.get(precision) or {}).get('map50')
        return '-' if value is None else f'{100 * value:.1f}'

    lines = [f'pipeline complete in {elapsed}: {report}']
    if rows:
        lines += ['', f'{"model":<20} {"params (M)":>10} {"FP32 mAP50":>10} {"INT8 mAP50":>10} '
                  f'{"INT8 ms":>8}']
        for row in rows:
            ms = row.get('int8_latency_ms')
            lines.append(f'{row.get("label", row.get("model", "?")):<20} '
                         f'{row.get("params", 0) / 1e6:>10.2f} {pct(row, "fp32"):>10} '
                         f'{pct(row, "int8"):>10} {"-" if ms is None else f"{ms:.1f}":>8}')
        lines.append('(mAP50 in %, ONNX Runtime CPU ms per image; all figures in the report)')
    if deployed:
        model = Path(out) / deployed['int8']
        lines += ['', f'deployable model ({deployed.get("model", "?")}, INT8): {model}',
                  f'  try it: vru-detect --model {model} --source IMAGES_OR_VIDEO']
    lines += summary_lines(start_verdict)
    return '\n'.join(lines)
