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
The offline stages, one module each: a settings dataclass and ``run(settings, run_dir, ...)``.

Every stage module defines

* ``SETTINGS``: its settings class (:class:`training.settings.Settings`): each field is a key of
  the stage's recipe section and a ``vru-train STAGE`` flag, with one default and its check;
* ``run(settings, run_dir, ...) -> result``: the work, with the upstream artifacts as
  arguments (the pipeline passes the previous stages' outputs, the command line the files the
  user names);
* ``add_inputs(parser)`` and ``main(args, settings) -> int``: the command line's input and
  output flags (files, folders: not settings) and the call of ``run`` from them.

``training/pipeline.py`` only orders the stages, keeps the run folder and its manifest, and
resumes; ``training/cli.py`` builds every ``vru-train STAGE`` from these modules. The map of
stages, settings, inputs and outputs is docs/training-map.md.
"""
