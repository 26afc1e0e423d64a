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
A pipeline run directory: one folder per stage, a manifest, atomic completion, resume.

Layout::

    RUN/manifest.json                 stages in order: inputs, input hash, outputs, metrics, status
    RUN/<stage>/                      completed stage (never overwritten)
    RUN/<stage>.partial/              stage in progress; its checkpoints survive an interruption
    RUN/<stage>.<hash8>/              a re-run with changed inputs goes beside, not over,
                                      the old one
    RUN/<stage>.partial.<hash8>/      an interrupted attempt whose inputs changed: set aside
                                      (hours of training are not deleted by a recipe edit)

A stage is skipped when the manifest records it complete with the same input hash and its
outputs still exist. Completion is a rename of ``.partial`` to the final name, so a stage is
either complete or absent, whatever happens to the process.
"""
from __future__ import annotations

from dataclasses import dataclass, field
import hashlib
import json
import os
from pathlib import Path
import shutil
import time
from typing import Any, Callable


def file_digest(path: Path, chunk: int = 1 << 20) -> str:
    """sha256 of a file's bytes (first 16 hex digits)."""
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()[:16]


def inputs_digest(inputs: dict[str, Any]) -> str:
    """Hash of a stage's inputs: parameters as JSON, files and folders by content digest."""
    def norm(value: Any) -> Any:
        if isinstance(value, Path):
            if value.is_file():
                return {'file': file_digest(value)}
            if value.is_dir():
                return {'dir': sorted((str(p.relative_to(value)), p.stat().st_size)
                                      for p in value.rglob('*') if p.is_file())}
            return {'missing': str(value)}
        if isinstance(value, dict):
            return {k: norm(v) for k, v in sorted(value.items())}
        if isinstance(value, (list, tuple)):
            return [norm(v) for v in value]
        return value
    blob = json.dumps(norm(inputs), sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON through a temporary file and rename (never a half-written manifest)."""
    tmp = path.with_name(path.name + '.tmp')
    tmp.write_text(json.dumps(data, indent=2, default=str))
    os.replace(tmp, path)


@dataclass
class StageResult:
    """What a stage function returns: output paths (relative to its folder) and metrics."""

    outputs: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)


class RunDir:
    """Manifest-backed run folder; ``stage(name, inputs, fn)`` runs or skips one stage."""

    def __init__(self, root: Path, log: Callable[[str], None] = print) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.manifest_path = self.root / 'manifest.json'
        self.log = log
        self.manifest: dict[str, Any] = (json.loads(self.manifest_path.read_text())
                                         if self.manifest_path.is_file() else {'stages': {}})

    def _set_aside(self, name: str, partial: Path, marker: Path) -> None:
        """Move an interrupted attempt with other inputs beside the new one, and say so."""
        old = marker.read_text()[:8] if marker.is_file() else 'unknown'
        aside = partial.with_name(f'{name}.partial.{old}')
        if aside.exists():
            shutil.rmtree(aside)
        os.replace(partial, aside)
        self.log(f'[{name}] inputs changed since the interrupted attempt: it is kept in '
                 f'{aside} (delete it when not needed); starting afresh')

    def save(self) -> None:
        write_json_atomic(self.manifest_path, self.manifest)

    def output(self, stage: str, key: str) -> Path:
        """Return the absolute path of a completed stage's output; KeyError if absent."""
        entry = self.manifest['stages'][stage]
        return self.root / entry['dir'] / entry['outputs'][key]

    def stage(self, name: str, inputs: dict[str, Any],
              fn: Callable[[Path, bool], StageResult]) -> dict[str, Any]:
        """
        Run ``fn(workdir, resuming)`` unless an identical completed run exists.

        ``workdir`` is ``<name>.partial``; ``resuming`` is True when it holds an interrupted
        attempt with the same inputs (the stage then continues from its last checkpoint).
        """
        digest = inputs_digest(inputs)
        entry = self.manifest['stages'].get(name)
        if entry and entry.get('status') == 'complete' and entry.get('input_hash') == digest:
            final = self.root / entry['dir']
            if all((final / rel).exists() for rel in entry['outputs'].values()):
                self.log(f'[{name}] up to date ({entry["dir"]}), skipped')
                return entry
        partial = self.root / f'{name}.partial'
        marker = partial / '.input_hash'
        resuming = partial.is_dir() and marker.is_file() and marker.read_text() == digest
        if partial.exists() and not resuming:
            self._set_aside(name, partial, marker)
        partial.mkdir(parents=True, exist_ok=True)
        marker.write_text(digest)
        self.log(f'[{name}] {"resuming" if resuming else "running"} in {partial}')
        started = time.time()
        result = fn(partial, resuming)
        missing = [k for k, rel in result.outputs.items() if not (partial / rel).exists()]
        if missing:
            raise RuntimeError(f'stage {name} finished without its outputs {missing} in {partial}')
        final = self.root / name
        if final.exists():  # an older completed run with other inputs: keep it, go beside
            final = self.root / f'{name}.{digest[:8]}'
            if final.exists():
                shutil.rmtree(final)  # same inputs but its outputs were gone: it was incomplete
        os.replace(partial, final)
        entry = {'status': 'complete', 'dir': final.name, 'input_hash': digest,
                 'inputs': json.loads(json.dumps(inputs, default=str)),
                 'outputs': result.outputs, 'metrics': result.metrics,
                 'output_hashes': {k: file_digest(final / rel) for k, rel in result.outputs.items()
                                   if (final / rel).is_file()},
                 'seconds': round(time.time() - started, 1)}
        self.manifest['stages'][name] = entry
        self.save()
        return entry
