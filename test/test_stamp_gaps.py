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


"""Transport loss seen in header stamps: counted, reported in /diagnostics, WARN with the fix."""
import numpy as np
import pytest

from vru_detector.health import detector_health, HealthMonitor
from vru_detector.stamp_gaps import StampGaps
from vru_detector.stats import PipelineStats

PERIOD = 0.1  # a 10 Hz camera


def camera(frames, keep, jitter=0.0, seed=0, start=1000.0):
    """Stamps of the frames a node receives: ``keep`` is the share that arrives (random)."""
    rng = np.random.default_rng(seed)
    sent = start + np.arange(frames) * PERIOD + rng.uniform(-jitter, jitter, frames) * PERIOD
    arrived = rng.random(frames) < keep
    arrived[0] = True
    return sent[arrived], frames - int(arrived.sum()) - _lost_after_last(arrived)


def _lost_after_last(arrived):
    return len(arrived) - 1 - int(np.flatnonzero(arrived)[-1])  # no later stamp shows these


def feed(gaps, stamps, t0=0.0):
    for stamp in stamps:
        gaps.on_stamp(float(stamp), now=t0 + float(stamp - stamps[0]) + 0.03)


@pytest.mark.parametrize('keep, jitter', [(1.0, 0.0), (0.9, 0.1), (0.5, 0.1), (0.28, 0.1)])
@pytest.mark.parametrize('seed', [0, 1, 2])
def test_missing_frames_are_counted_exactly_with_jitter_and_heavy_loss(keep, jitter, seed):
    stamps, lost = camera(600, keep, jitter, seed)
    gaps = StampGaps()
    feed(gaps, stamps)
    assert gaps.missing == lost
    assert gaps.period_s == pytest.approx(PERIOD, rel=0.05)


def test_completeness_is_the_received_share_over_the_window():
    stamps, _ = camera(600, 0.28, 0.1)  # what the issue saw: 167 of 600 raw 720p frames
    gaps = StampGaps(window_s=5.0)
    feed(gaps, stamps)
    now = float(stamps[-1] - stamps[0]) + 0.03
    received, missing = gaps.window_counts(now)
    assert gaps.completeness(now) == pytest.approx(received / (received + missing))
    assert 0.15 < gaps.completeness(now) < 0.45
    assert StampGaps().completeness(0.0) is None  # nothing known yet


def test_a_bag_loop_restart_is_no_loss():
    stamps = np.arange(100) * PERIOD + 50.0
    gaps = StampGaps()
    feed(gaps, np.concatenate([stamps, stamps, stamps]))  # ros2 bag play --loop
    assert gaps.missing == 0
    assert gaps.received == 300


def test_a_pause_is_no_loss_but_the_gaps_around_it_still_count():
    stamps = np.concatenate([np.arange(50), np.arange(50) + 100, [151, 153]]) * PERIOD  # 10 s
    gaps = StampGaps()
    feed(gaps, stamps)
    assert gaps.missing == 2  # frames 150 and 152; the 5 s pause is "no images", not loss


def test_a_repeated_stamp_is_not_counted_and_does_not_spoil_the_period():
    stamps = np.repeat(np.arange(40) * PERIOD, 2)  # every frame delivered twice
    gaps = StampGaps()
    feed(gaps, stamps)
    assert gaps.missing == 0 and gaps.period_s == pytest.approx(PERIOD)


def test_stats_count_stamped_frames_only():
    stats = PipelineStats(window_s=5.0)
    for k in [*range(30), 32, 33]:  # frames 30 and 31 never arrive
        stats.on_input(k * PERIOD, 100.0 + k * PERIOD)
    stats.on_input(3.35, 0.0)  # unstamped: no effect on the count
    snap = stats.snapshot(3.4)
    assert snap.received == 33 and snap.missing_upstream == 2
    values = snap.as_strings()
    assert values['frames_missing_upstream'] == '2'
    assert values['input_completeness'] == f'{32 / 34:.3f}'
    assert values['input_stamp_period_ms'] == '100.0'
    assert PipelineStats().snapshot(0.0).as_strings()['input_completeness'] == 'n/a'


def stream_health(keep, min_completeness=0.9):
    stamps, _ = camera(100, keep, 0.05, seed=3)
    stats = PipelineStats()
    for stamp in stamps:
        stats.on_input(float(stamp) - 1000.0, float(stamp))
    snap = stats.snapshot(float(stamps[-1]) - 1000.0 + 0.01)
    return detector_health(snap, {}, 0.01, '/camera/image_raw', 'best_effort',
                           min_completeness=min_completeness)


def test_loss_below_the_minimum_warns_with_the_cause_and_the_fix():
    level, message = stream_health(0.3)
    assert level == 'WARN'
    assert 'input_completeness 0.' in message and 'never' in message
    for fix in ('sudo sysctl -w net.core.rmem_max=4194304', 'cyclonedds_config:=true',
                'CompressedImage', 'smaller images'):
        assert fix in message
    assert stream_health(1.0) == ('OK', 'running')
    assert stream_health(0.3, min_completeness=0.0) == ('OK', 'running')  # check turned off


def test_no_images_warning_comes_from_the_steady_clock_alone():
    """A bag ends under use_sim_time: stamps (sim time) stop, the steady clock goes on."""
    steady = 0.0
    stats, health = PipelineStats(), HealthMonitor(steady, 'best_effort', 0.9)
    reports = []
    for k in range(100):  # 10 s of a 10 Hz bag, then nothing
        steady = k * PERIOD
        stats.on_input(steady, 1.7e9 + k * PERIOD)
        if k % 10 == 9:
            reports.append(health.report(stats.snapshot(steady), steady, '/cam'))
    assert reports == [('OK', 'running')] * 10
    for steady in (11.0, 12.0, 14.0):  # one report per second, as the steady timer fires
        reports.append(health.report(stats.snapshot(steady), steady, '/cam'))
    assert [level for level, _ in reports[-3:]] == ['OK', 'OK', 'WARN']
    assert 'no images on /cam for 4 s' in reports[-1][1]


def test_before_the_first_image_idle_time_counts_from_activation():
    health = HealthMonitor(100.0, 'reliable', 0.9)
    assert health.report(PipelineStats().snapshot(101.0), 101.0, '/cam')[0] == 'OK'
    level, message = health.report(PipelineStats().snapshot(104.0), 104.0, '/cam')
    assert level == 'WARN' and 'reliable' in message
