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

"""The training log's one-line summary tells person figures from the class mean."""
from training.val_summary import format_line


def test_log_line_gives_person_pr_and_labels_the_class_mean():
    metrics = {'map50': 0.191, 'precision_at_0.25': 0.709, 'recall_at_0.25': 0.134,
               'ap50': {'person': 0.313}, 'pr_at_0.25': {'person': [0.784, 0.187]}}
    assert format_line(metrics) == ('mAP50 19.1 | person AP50 31.3, P/R@0.25 78.4/18.7 '
                                    '| mean P/R@0.25 70.9/13.4')


def test_log_line_without_a_person_class_says_so():
    metrics = {'map50': 0.5, 'precision_at_0.25': 0.6, 'recall_at_0.25': 0.4, 'ap50': {}}
    assert format_line(metrics) == 'mAP50 50.0 | person AP50 - | mean P/R@0.25 60.0/40.0'
