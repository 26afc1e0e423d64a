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
95% bootstrap intervals that resample whole groups of frames (clips, sequences, bags).

What is resampled, and why: frames of one video, sequence or bag are not independent (the
same people, light and camera, a few frames apart), so resampling frames would pretend a
clip of 800 frames is 800 pieces of evidence and give intervals far too narrow. Each
bootstrap draw therefore takes ``G`` groups with replacement out of the ``G`` groups (a frame
that is independent of the others, such as a photo, is its own group) and keeps every frame
of a drawn group, as many times as the group was drawn. The statistic is recomputed on that
resample from the per-frame evaluations (each frame is evaluated once; only the weights
change), so AP is a real pooled AP of the resample, not a mean of per-frame numbers.

A statistic here is a function of frame weights: ``statistic(weights)`` gets an array
``[B, F]`` (B resamples, F frames; weight = how many times the frame's group was drawn) and
returns ``[B]`` values; the full data is weight 1 everywhere. The resampling itself is
``scipy.stats.bootstrap`` over the group indices (seeded, so a run repeats exactly), with BCa
intervals by default (percentile where BCa cannot be computed, e.g. a constant statistic).

For two models on the same frames, :func:`paired_difference` applies the same resample to
both and bootstraps their difference: far tighter than two separate intervals, because the
frames both find hard move both figures together. That interval, not two point estimates,
decides "B is better than A".
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
import math
from typing import Callable, Hashable, Sequence
import warnings

import numpy as np

LEVEL = 0.95            # two-sided confidence level of every interval
RESAMPLES = 1000        # bootstrap draws; enough for 95% BCa limits to about +-0.5 point on AP
SEED = 0                # default seed: the same data and seed give the same interval
METHODS = ('BCa', 'percentile', 'basic')
BATCH = 100             # resamples evaluated at once (memory: BATCH x detections floats)
DEFINED_SHARE = 0.9     # a figure undefined on more resamples than 10% gets no interval

Statistic = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Interval:
    """A figure with its bootstrap interval (NaN when the figure is undefined on the data)."""

    estimate: float     # the statistic on all the data
    low: float
    high: float
    level: float        # e.g. 0.95
    groups: int         # independent groups resampled
    method: str         # as computed: 'BCa', 'percentile', 'constant', ...
    resamples: int

    def verdict(self, higher_is_better: bool = True) -> str:
        """For a difference B - A: 'better', 'worse' or 'no significant difference' (for B)."""
        if math.isnan(self.low) or math.isnan(self.high):
            return 'undefined'
        if self.low > 0:
            return 'better' if higher_is_better else 'worse'
        if self.high < 0:
            return 'worse' if higher_is_better else 'better'
        return 'no significant difference'

    def as_dict(self) -> dict:
        """JSON-ready (NaN -> None)."""
        return {k: (None if isinstance(v, float) and math.isnan(v) else v)
                for k, v in asdict(self).items()}


def group_codes(groups: Sequence[Hashable]) -> tuple[np.ndarray, int]:
    """Per-frame group labels -> (codes 0..G-1 in first-seen order, G)."""
    index: dict = {}
    codes = np.fromiter((index.setdefault(g, len(index)) for g in groups), np.int64,
                        count=len(groups))
    return codes, len(index)


def _scipy_bootstrap():
    try:
        from scipy.stats import bootstrap
    except ImportError:
        raise ImportError('bootstrap intervals need scipy: pip install "vru_detector[eval]"'
                          ) from None
    return bootstrap


def _weights_of(codes: np.ndarray, n_groups: int) -> Callable[[np.ndarray], np.ndarray]:
    """Map resampled group indices [..., n] to frame weights [B, F] (B = the leading dims)."""
    def weights(idx: np.ndarray) -> np.ndarray:
        idx = np.asarray(idx, np.int64)
        flat = idx.reshape(-1, idx.shape[-1])
        rows = np.arange(len(flat))[:, None] * n_groups
        counts = np.bincount((flat + rows).ravel(), minlength=len(flat) * n_groups)
        return counts.reshape(len(flat), n_groups)[:, codes].astype(np.float64)
    return weights


def _run(statistic: Statistic, groups: Sequence[Hashable], n_resamples: int, level: float,
         method: str, seed: int) -> Interval:
    if method not in METHODS:
        raise ValueError(f'method must be one of {METHODS}, got {method!r}')
    codes, n_groups = group_codes(groups)
    if n_groups == 0:
        raise ValueError('no frames to resample')
    full = float(statistic(np.ones((1, len(codes))))[0])
    nan = Interval(full, math.nan, math.nan, level, n_groups, method, n_resamples)
    if n_groups < 2 or math.isnan(full):
        return nan
    weights = _weights_of(codes, n_groups)

    def stat(idx: np.ndarray, axis: int = -1) -> np.ndarray:
        lead = np.asarray(idx).shape[:-1]
        return np.asarray(statistic(weights(idx)), np.float64).reshape(lead)

    bootstrap = _scipy_bootstrap()
    data = (np.arange(n_groups),)
    for how in dict.fromkeys((method, 'percentile')):
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')  # degenerate / NaN draws are handled below
            res = bootstrap(data, stat, n_resamples=n_resamples, batch=BATCH, vectorized=True,
                            confidence_level=level, method=how,
                            rng=np.random.default_rng(seed))
        low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
        if not (math.isnan(low) or math.isnan(high)):
            return Interval(full, low, high, level, n_groups, how, n_resamples)
        draws = np.asarray(res.bootstrap_distribution).ravel()
        if np.all(draws == draws[0]):  # a constant statistic: the interval is a point
            return Interval(full, float(draws[0]), float(draws[0]), level, n_groups,
                            'constant', n_resamples)
        defined = draws[np.isfinite(draws)]
        if len(defined) >= DEFINED_SHARE * len(draws):
            # a few resamples drew no case the figure needs (e.g. no small pedestrian): the
            # percentile interval of the resamples where it is defined
            alpha = 100 * (1 - level) / 2
            low, high = np.percentile(defined, [alpha, 100 - alpha])
            return Interval(full, float(low), float(high), level, n_groups,
                            'percentile (defined draws)', n_resamples)
    return nan


def interval(statistic: Statistic, groups: Sequence[Hashable], *,
             n_resamples: int = RESAMPLES, level: float = LEVEL, method: str = 'BCa',
             seed: int = SEED) -> Interval:
    """
    Bootstrap interval of one figure, resampling whole groups.

    ``statistic(weights [B, F]) -> [B]`` computes the figure from frame weights; ``groups``
    gives each of the F frames its group (clip, sequence, bag; one label per independent
    frame). A resample draws the groups with replacement; a frame's weight is how often its
    group was drawn.
    """
    return _run(statistic, groups, n_resamples, level, method, seed)


def paired_difference(statistic_a: Statistic, statistic_b: Statistic,
                      groups: Sequence[Hashable], *, n_resamples: int = RESAMPLES,
                      level: float = LEVEL, method: str = 'BCa', seed: int = SEED) -> Interval:
    """
    Bootstrap interval of ``B - A`` for two models evaluated on the same frames (paired).

    Each resample of the groups is applied to both models at once, so the interval reflects
    how differently the two models do on the same images, not how hard the images are.
    ``interval.verdict()`` reads it: 'better' (B above A), 'worse' or 'no significant
    difference' (the interval contains 0).
    """
    return contrast([statistic_a, statistic_b], [-1.0, 1.0], groups, n_resamples=n_resamples,
                    level=level, method=method, seed=seed)


def contrast(statistics: Sequence[Statistic], coefficients: Sequence[float],
             groups: Sequence[Hashable], *, n_resamples: int = RESAMPLES, level: float = LEVEL,
             method: str = 'BCa', seed: int = SEED) -> Interval:
    """
    Bootstrap interval of ``sum(c * statistic)`` over models evaluated on the same frames.

    The general paired comparison: ``[-1, 1]`` is ``B - A``; ``[-1, 1, 1, -1]`` a difference
    of two INT8 drops (``(B - A) - (D - C)``); ``[1/3] * 3`` with signs, a mean over seeds.
    Every statistic sees the same resample of the groups.
    """
    if len(statistics) != len(coefficients) or not statistics:
        raise ValueError(f'{len(statistics)} statistics for {len(coefficients)} coefficients')

    def combined(weights: np.ndarray) -> np.ndarray:
        return sum(c * np.asarray(s(weights), np.float64)
                   for s, c in zip(statistics, coefficients))

    return _run(combined, groups, n_resamples, level, method, seed)
