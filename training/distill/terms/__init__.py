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
The KD terms, one per file (mmrazor's layout): settings, formula and loss side by side.

Each module of this package defines one :class:`~.base.KDTerm` subclass decorated with
:func:`~.base.register`: its recipe name (the key under ``distill.kd``, and ``kd_<name>`` in
results.csv), its settings dataclass (``enabled``, ``weight`` + its own hyper-parameters, the
paper's defaults), which layers it needs hooked, and its loss. Adding a term is adding a file
here; :func:`registered` imports every module of the package, so nothing else changes.
"""
from .base import KDTerm, register, registered, TermInputs, TermSettings

__all__ = ['KDTerm', 'register', 'registered', 'TermInputs', 'TermSettings']
