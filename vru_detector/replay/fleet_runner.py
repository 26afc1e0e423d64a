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
Run bag tasks: one Ray task per bag, or a plain loop in this process (same results).

Ray is local by default (``ray.init(num_cpus=workers)``) or a cluster given by its address.

Results are stored as they arrive (``ResultStore``), keyed by model, bag and settings hashes,
so a rerun skips what is done and an interrupted run loses only the bags in flight.
"""
from __future__ import annotations

from dataclasses import dataclass
import hashlib
from pathlib import Path
import pickle
import re
from typing import Callable, Sequence

from .bag_task import BagResult, EvalSettings, evaluate_bag, ModelSource
from ..errors import VruDetectorError
from ..extras import install_hint

RAY_MISSING = (f'Ray is not installed: {install_hint("fleet")} for parallel bags, or pass '
               '--workers 0 to evaluate them one after another in this process')


@dataclass(frozen=True)
class BagJob:
    """One (bag, model) evaluation to run."""

    bag: Path
    name: str
    bag_sha256: str
    model: ModelSource


class ResultStore:
    """Finished bag results under ``folder``, one pickle per (model, bag, settings)."""

    def __init__(self, folder: Path, settings: EvalSettings) -> None:
        self.folder = Path(folder)
        self.settings_digest = settings.digest()

    def path(self, job: BagJob) -> Path:
        key = hashlib.sha256(f'{job.model.sha256}:{job.bag_sha256}:{self.settings_digest}'
                             .encode()).hexdigest()[:20]
        return self.folder / f'{re.sub(r"[^A-Za-z0-9_.-]+", "_", job.name)}.{key}.pkl'

    def load(self, job: BagJob) -> BagResult | None:
        """Return the stored result of ``job``, or None (not run, or unreadable: run it again)."""
        if not job.bag_sha256:
            return None
        try:
            with open(self.path(job), 'rb') as f:
                result = pickle.load(f)  # our own files, written by save() below
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
            return None
        if not isinstance(result, BagResult) or result.error:
            return None
        result.cached = True
        return result

    def save(self, job: BagJob, result: BagResult) -> None:
        """Keep a complete result (a failed bag is retried on the next run)."""
        if result.error or not job.bag_sha256:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.path(job)
        tmp = path.with_suffix('.part')
        with open(tmp, 'wb') as f:
            pickle.dump(result, f, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(path)


def import_ray():
    try:
        import ray
    except ImportError:
        raise VruDetectorError(RAY_MISSING) from None
    return ray


def run_sequential(jobs: Sequence[BagJob], settings: EvalSettings,
                   on_result: Callable[[BagJob, BagResult], None]) -> None:
    for job in jobs:
        on_result(job, evaluate_bag(str(job.bag), job.model, settings, job.bag_sha256))


def start_ray(workers: int, address: str | None, runtime_env: dict | None = None) -> bool:
    """
    Connect to Ray: the session already open, ``address``, or a new local one.

    A local Ray gets ``workers`` CPUs. Returns True when this call started Ray (and the caller
    should shut it down).
    """
    ray = import_ray()
    if ray.is_initialized():
        return False
    options = {'include_dashboard': False, 'logging_level': 'ERROR', 'log_to_driver': False}
    if runtime_env:
        options['runtime_env'] = runtime_env
    if address:
        ray.init(address=address, **options)
    else:
        ray.init(num_cpus=workers, **options)
    return True


def run_ray(jobs: Sequence[BagJob], settings: EvalSettings,
            on_result: Callable[[BagJob, BagResult], None]) -> None:
    """One task per bag; each model's bytes go into the object store once, results as they end."""
    ray = import_ray()
    refs: dict[str, tuple] = {}
    shipped = []
    for job in jobs:
        if job.model.sha256 not in refs:
            data = Path(job.model.path).read_bytes()
            refs[job.model.sha256] = (ray.put(data),)
        shipped.append(ModelSource(job.model.name, job.model.sha256, None,
                                   refs[job.model.sha256]))
    task = ray.remote(num_cpus=settings.threads or 1, max_retries=0)(evaluate_bag)
    pending = {task.remote(str(job.bag), model, settings, job.bag_sha256): job
               for job, model in zip(jobs, shipped)}
    while pending:
        done, _ = ray.wait(list(pending), num_returns=1)
        job = pending.pop(done[0])
        try:
            result = ray.get(done[0])
        except ray.exceptions.RayError as exc:  # the worker died (memory, signal)
            result = BagResult(str(job.bag), job.bag_sha256, job.model.sha256,
                               error=f'Ray task failed: {str(exc).splitlines()[0][:300]}')
        on_result(job, result)
