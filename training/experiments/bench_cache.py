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
Benchmark runs of model files, kept on disk: a growing experiment benchmarks each file once.

Each model file runs through the node's Detector on the pooled street benchmark; its
matched detections (a ``ModelRun``) are pickled under a key (by default the file's digest
and the runtime). The scored classes are fixed by the first model benchmarked and kept beside the
runs, so every later model is scored on the same classes.
"""
from __future__ import annotations

import json
from pathlib import Path
import pickle
import time
from typing import Sequence


class BenchCache:
    """The pooled benchmark's frames, loaded once, and a folder of cached ``ModelRun``s."""

    def __init__(self, folder: Path, data_root: str | None = None,
                 backend: str | None = None) -> None:
        """Load the pooled sources; ``backend`` None lets each file pick its runtime."""
        from vru_detector.replay.bench_sources import load_sources, POOLED
        from vru_detector.replay.benchmark import default_data_root

        self.folder, self.backend = Path(folder), backend
        self.folder.mkdir(parents=True, exist_ok=True)
        self.sources = load_sources(data_root or default_data_root(), POOLED)
        self.frames = [f for s in self.sources for f in s.frames]
        plan = self.folder / 'class_plan.json'
        self.plan = tuple(json.loads(plan.read_text())) if plan.is_file() else None

    def key(self, model: Path) -> str:
        """Return the cache name of ``model``: its digest and the runtime asked for."""
        from training.run_dir import file_digest

        return f'{file_digest(Path(model))[:16]}-{self.backend or "auto"}'

    def run(self, name: str, model: Path, key: str | None = None):
        """Benchmark ``model`` (ONNX) as ``name``, or return the cached run of it."""
        from vru_detector import Detector
        from vru_detector.replay.benchmark import (backend_name, EVAL_CONF, evaluate_model,
                                                   ModelRun)

        cache = self.folder / f'{key or self.key(model)}.pkl'
        if cache.is_file():
            cached = pickle.loads(cache.read_bytes())
            cached.name = name
            return cached
        det = Detector(str(model), backend=self.backend, conf=EVAL_CONF)
        if self.plan is None:
            self.set_plan(det.names)
        classes, folded = self.plan
        t0 = time.perf_counter()
        metrics = evaluate_model(det, self.frames, classes, folded)
        result = ModelRun(name, str(model), det.info.precision, det.info.input_shape, metrics,
                          time.perf_counter() - t0, backend_name(det))
        cache.write_bytes(pickle.dumps(result))
        return result

    def set_plan(self, names: Sequence[str]) -> None:
        """
        Fix the scored classes by ``names`` (the first model's) for every later model.

        A class that model lacks is folded for all (rider -> person for a COCO model, as
        ``vru-benchmark`` does).
        """
        from vru_detector.replay.benchmark import class_plan

        self.plan = class_plan([names])
        (self.folder / 'class_plan.json').write_text(json.dumps(self.plan))
