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

"""What the training stages (teacher, student, distill) share: settings and checkpoint rules."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from ..settings import option, RecipeError, Settings

# Arguments the stage owns itself (set from its settings or by the stage).
RESERVED_TRAIN_KEYS = {'model', 'data', 'epochs', 'imgsz', 'batch', 'seed', 'device',
                       'distill_model', 'resume', 'mode', 'task'}


def best_weights(run: Any) -> Path:
    """
    Return best.pt of an ultralytics run, or last.pt when no validation ran (no best.pt).

    ``run``: a trainer (its ``best``/``last``) or a run folder (``weights/best.pt``).
    """
    if hasattr(run, 'best'):
        best, last = Path(run.best), Path(run.last)
    else:
        best, last = Path(run) / 'weights' / 'best.pt', Path(run) / 'weights' / 'last.pt'
    return best if best.is_file() else last


def check_train_keys(train: dict[str, Any], where: str) -> None:
    """Refuse the arguments a stage sets itself and names ultralytics does not know."""
    if not train:
        return
    from ultralytics.utils import DEFAULT_CFG_KEYS

    reserved = sorted(set(train) & RESERVED_TRAIN_KEYS)
    if reserved:
        raise RecipeError(f'{where}: {reserved} are set by the stage itself (use the stage '
                          'keys or the command line instead)')
    unknown = sorted(set(train) - set(DEFAULT_CFG_KEYS))
    if unknown:
        raise RecipeError(f'{where}: {unknown} are not ultralytics train arguments')


@dataclass
class TrainSettings(Settings):
    """What a training stage needs besides its model: data, schedule, ultralytics arguments."""

    data: str | None = option(None, "YOLO data.yaml (the recipe's data: when left out)")
    epochs: int = option(100, 'training epochs', low=1)
    imgsz: int = option(640, 'square input size in pixels', low=32)
    batch: int = option(16, 'images per batch', low=1)
    seed: int = option(0, "random seed (the recipe's seed: when left out)", low=0)
    device: str | None = option(None, 'ultralytics device: cpu, 0, or 0,1 for DDP '
                                "(the recipe's device: when left out)")
    weights: str | None = option(None, 'pretrained .pt to start from (head classes matched by '
                                 "name; the architecture is the checkpoint's)")
    init_classes: dict[str, str] = option({}, 'start a class the weights lack from one they '
                                          'have, e.g. rider=person',
                                          expect='a mapping of our class to a class of the '
                                          'weights, e.g. {rider: person}')
    train: dict[str, Any] = option({}, 'any other ultralytics train argument, e.g. amp=false '
                                   'workers=0 fraction=0.25')

    # the recipe's top-level keys a section takes when it does not set them
    INHERITED: ClassVar[tuple[str, ...]] = ('data', 'seed', 'device')
    FLAG_RENAMED: ClassVar[dict[str, str]] = {'--set': '--train KEY=VALUE',
                                              '--fraction': '--train fraction=F',
                                              '--init-class': '--init-classes OURS=THEIRS'}

    @property
    def model(self) -> str:
        raise NotImplementedError

    def check(self) -> None:
        if self.weights is not None and not str(self.weights).endswith('.pt'):
            raise RecipeError(f'{self.where("weights")}: expected the path of a .pt checkpoint, '
                              f'got {self.weights!r}')
        if not all(isinstance(k, str) and isinstance(v, str)
                   for k, v in self.init_classes.items()):
            raise RecipeError(f'{self.where("init_classes")}: expected a mapping of our class to '
                              'a class of the weights, e.g. {rider: person}; got '
                              f'{self.init_classes!r}')
        check_train_keys(self.train, self.where('train'))

    @classmethod
    def refuse_unknown(cls, section, where: str) -> None:
        try:
            super().refuse_unknown(section, where)
        except RecipeError as exc:
            raise RecipeError(f'{exc} (other ultralytics arguments go under {cls.STAGE}.train)'
                              ) from None

    def train_args(self) -> dict[str, Any]:
        """Keyword arguments for ultralytics' trainer (without model / teacher)."""
        args = {'data': self.data, 'epochs': self.epochs, 'imgsz': self.imgsz,
                'batch': self.batch, 'seed': self.seed, **self.train}
        if self.device is not None:
            args['device'] = self.device
        return args


def add_run_flags(parser) -> None:
    """Where a training stage run by itself writes (not settings: the pipeline's run folder)."""
    parser.add_argument('--project', type=Path,
                        help="runs folder (default: the recipe's project:, else runs/vru)")
    parser.add_argument('--name', help='run name (default: the stage name)')


def run_folder(args, recipe: dict[str, Any], stage: str) -> Path:
    """Return the folder a stage run from the command line writes to: PROJECT/NAME."""
    project = Path(args.project or recipe.get('project') or 'runs/vru').resolve()
    name = args.name or (f"{recipe['name']}-{stage}" if recipe.get('name') else stage)
    return project / name


def check_dataset(settings: TrainSettings, stage: str) -> None:
    """Refuse a stage run by itself without one existing data.yaml to train on."""
    if not settings.data:
        raise RecipeError(f'vru-train {stage}: no dataset: give --data DATA.yaml or data: in '
                          'the recipe')
    if not Path(settings.data).is_file():
        raise RecipeError(f'vru-train {stage}: {settings.data} not found (expected a YOLO '
                          'data.yaml, e.g. from `vru-train data`)')


def dataset_names(data_yaml: str | Path) -> list[str]:
    """Class names of a YOLO data.yaml, in index order (the labels package reads it)."""
    from vru_detector.labels import data_yaml_names

    return data_yaml_names(data_yaml)
