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

"""Rate meters, latency percentiles and pipeline counters on a fake clock."""
import math
import threading

import numpy as np
import pytest

from vru_detector.stats import LatencyWindow, PipelineStats, RateMeter


@pytest.mark.parametrize('hz', [5.0, 30.0, 90.0])
def test_rate_of_a_steady_source(hz):
    meter = RateMeter(window_s=5.0)
    for k in range(int(12 * hz)):
        meter.tick(k / hz)
    assert meter.rate(12.0 - 1 / hz) == pytest.approx(hz, rel=0.01)
    assert meter.total == int(12 * hz)


def test_rate_decays_to_zero_when_the_source_stops():
    meter = RateMeter(window_s=2.0)
    for k in range(60):
        meter.tick(k / 30)
    assert meter.rate(2.0) == pytest.approx(30, rel=0.05)
    assert meter.rate(3.0) < 20
    assert meter.rate(10.0) == 0.0


def test_rate_with_jitter_matches_the_mean_rate(rng):
    times = np.cumsum(rng.uniform(0.02, 0.0467, 400))  # mean period ~33 ms
    meter = RateMeter(window_s=5.0)
    for t in times:
        meter.tick(float(t))
    inside = times[times >= times[-1] - 5.0]
    expected = (len(inside) - 1) / (inside[-1] - inside[0])
    assert meter.rate(float(times[-1])) == pytest.approx(expected, rel=1e-9)


def test_latency_percentiles_match_numpy_over_the_last_samples(rng):
    window = LatencyWindow(size=100)
    samples = rng.gamma(2.0, 10.0, 250)
    for s in samples:
        window.add(float(s))
    window.add(math.nan)  # an unstamped frame: ignored
    last = samples[-100:]
    assert window.p50 == pytest.approx(np.percentile(last, 50))
    assert window.p95 == pytest.approx(np.percentile(last, 95))
    assert window.largest == pytest.approx(last.max())
    assert window.count == 250
    assert math.isnan(LatencyWindow().p95)


def test_invalid_settings_are_refused():
    with pytest.raises(ValueError, match='window_s'):
        RateMeter(0)
    with pytest.raises(ValueError, match='size'):
        LatencyWindow(0)


def test_pipeline_snapshot_counts_by_reason_and_input_age():
    stats = PipelineStats()
    for k in range(10):
        stats.on_input(k * 0.1)
    stats.on_drop(3)
    stats.on_skip('unsupported_encoding')
    stats.on_skip('malformed_image')
    stats.on_skip('malformed_image')
    stats.on_output(1.0, 50.0, 20.0)
    snap = stats.snapshot(1.5)
    assert (snap.received, snap.processed, snap.dropped, snap.skipped) == (10, 1, 3, 3)
    assert snap.skipped_by_reason == {'unsupported_encoding': 1, 'malformed_image': 2}
    assert snap.last_input_age_s == pytest.approx(0.6)
    strings = snap.as_strings()
    assert strings['skipped_malformed_image'] == '2'
    assert strings['inference_p50_ms'] == '20.0'


def test_pipeline_stats_are_thread_safe():
    stats = PipelineStats()

    def hammer():
        for k in range(2000):
            stats.on_input(k * 0.001)
            stats.on_skip('x')

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    snap = stats.snapshot(2.0)
    assert snap.received == 8000 and snap.skipped == 8000


def test_stage_times_and_processing_time_are_reported_per_stage():
    stats = PipelineStats()
    for k in range(5):
        stages = {'conversion': 1.0 + k, 'inference': 20.0, 'debug_image': math.nan}
        stats.on_output(0.1 * k, 40.0, 20.0, stages, processing_ms=30.0 + k)
    snap = stats.snapshot(1.0)
    assert snap.stage_p50_ms['conversion'] == pytest.approx(3.0)
    assert snap.stage_p50_ms['inference'] == pytest.approx(20.0)
    assert math.isnan(snap.stage_p50_ms['debug_image'])  # never drawn
    assert snap.processing_p50_ms == pytest.approx(32.0)
    strings = snap.as_strings()
    assert strings['stage_conversion_p50_ms'] == '3.0'
    assert strings['stage_publish_p50_ms'] == 'n/a'
    assert strings['processing_time_p95_ms'] == f'{np.percentile([30, 31, 32, 33, 34], 95):.1f}'
    with pytest.raises(ValueError, match='unknown stage'):
        stats.on_output(1.0, 1.0, 1.0, {'decoding': 1.0})
