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

"""BatchNorm gamma statistics and histograms: how sparse the network is getting."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
import torch
from torch import nn


@dataclass
class GammaStats:
    """Summary of |gamma| over a set of BatchNorms."""

    count: int
    near_zero: float  # share of |gamma| < eps
    eps: float
    mean: float
    median: float
    p10: float
    p90: float

    def to_dict(self) -> dict:
        return asdict(self)


def collect_gammas(bns: Iterable[nn.BatchNorm2d]) -> np.ndarray:
    """All |gamma| of ``bns`` as one float array."""
    vals = [bn.weight.detach().abs().float().cpu().reshape(-1) for bn in bns]
    return torch.cat(vals).numpy() if vals else np.zeros(0, np.float32)


def gamma_stats(gammas: np.ndarray, eps: float = 1e-2) -> GammaStats:
    """Near-zero share and percentiles of an array of |gamma|."""
    if gammas.size == 0:
        raise ValueError('no BatchNorm gammas to summarise')
    p10, med, p90 = np.percentile(gammas, [10, 50, 90])
    return GammaStats(count=int(gammas.size), near_zero=float((gammas < eps).mean()), eps=eps,
                      mean=float(gammas.mean()), median=float(med), p10=float(p10),
                      p90=float(p90))


def plot_gamma_histogram(gammas: np.ndarray, path: Path, title: str, eps: float = 1e-2) -> Path:
    """Write a PNG histogram of |gamma| (log-count axis, the near-zero threshold marked)."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.hist(gammas, bins=100, color='#3b7dd8')
    ax.axvline(eps, color='#d83b3b', linestyle='--', label=f'|gamma| < {eps:g}')
    ax.set_yscale('log')
    ax.set_xlabel('|gamma| (BatchNorm scale)')
    ax.set_ylabel('channels')
    share = float((gammas < eps).mean()) if gammas.size else 0.0
    ax.set_title(f'{title}: {share:.1%} near zero')
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
