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

"""The prune stages and sparsity schedules by name, importable without torch (for ``--help``)."""

STAGES = ('sparsity', 'prune', 'finetune')
SCHEDULES = ('constant', 'linear', 'fade')
ALLOCATIONS = ('global', 'uniform')
# Channel importance: |gamma| (network slimming, after sparsity training), or torch_pruning's
# criteria that need no sparsity training: group L2 magnitude, LAMP.
IMPORTANCES = ('bn_scale', 'magnitude', 'lamp')
