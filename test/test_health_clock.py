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

"""A latency no node can have (negative, or hours) is a clock mix-up, and health says so."""
import math

import pytest

from vru_detector.health import clock_problem, detector_health
from vru_detector.stats import PipelineStats

YEARS_MS = 3 * 365 * 86400e3  # what a bag recorded 3 years ago read without use_sim_time


def health_after(latencies_ms, **skips):
    stats = PipelineStats()
    for k, ms in enumerate(latencies_ms):
        stats.on_input(k * 0.1)
        stats.on_output(k * 0.1 + 0.02, ms, 15.0)
    for reason, n in skips.items():
        for _ in range(n):
            stats.on_skip(reason)
    return detector_health(stats.snapshot(2.0), {}, 0.1, '/camera/image_raw', 'best_effort')


@pytest.mark.parametrize('latency_ms', [YEARS_MS, -40.0, -2.5e3])
def test_absurd_or_negative_latency_warns_and_names_the_clock(latency_ms):
    level, message = health_after([latency_ms] * 20)
    assert level == 'WARN'
    assert 'another clock' in message and 'use_sim_time' in message and '--clock' in message
    assert ('negative' in message) == (latency_ms < 0)


@pytest.mark.parametrize('latency_ms', [0.0, 27.1, 900.0, 3599e3])
def test_plausible_latency_stays_ok(latency_ms):
    assert health_after([latency_ms] * 20) == ('OK', 'running')


def test_an_unstamped_stream_has_no_latency_and_no_clock_warning():
    assert clock_problem(math.nan) is None
    assert health_after([math.nan] * 20) == ('OK', 'running')


def test_a_few_odd_stamps_do_not_warn_but_a_clock_switch_does():
    assert health_after([30.0] * 18 + [YEARS_MS] * 2)[0] == 'OK'  # p50 still 30 ms
    assert health_after([30.0] * 5 + [-1e3] * 15)[0] == 'WARN'


def test_clock_warning_and_malformed_frames_are_both_reported():
    level, message = health_after([YEARS_MS] * 5, malformed_image=2)
    assert level == 'WARN' and 'use_sim_time' in message and '2 malformed_image' in message
    level, message = health_after([YEARS_MS] * 5, inference_error=1)
    assert level == 'ERROR'  # a model fault outranks the clock
