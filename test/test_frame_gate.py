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

"""Newest-frame-wins gate: semantics, threads, and a simulated 30 Hz camera with slow inference."""
from collections import deque
import threading

import numpy as np
import pytest

from vru_detector.frame_gate import FrameGate
from vru_detector.stats import PipelineStats


def test_newest_frame_wins_and_replaced_frames_are_counted():
    gate = FrameGate()
    assert gate.poll() is None
    assert gate.put('a', 0.0) is False
    assert gate.put('b', 0.1) is True  # 'a' never reached inference
    assert gate.put('c', 0.2) is True
    frame = gate.poll()
    assert (frame.item, frame.arrived, frame.seq) == ('c', 0.2, 2)
    assert gate.poll() is None
    counts = gate.counts()
    assert (counts.arrived, counts.taken, counts.dropped, counts.pending) == (3, 1, 2, 0)


def test_take_waits_for_a_frame_and_close_wakes_it():
    gate = FrameGate()
    got = []
    consumer = threading.Thread(target=lambda: got.append(gate.take(timeout=10)))
    consumer.start()
    gate.put('x', 1.0)
    consumer.join(5)
    assert got[0].item == 'x'
    assert gate.take(timeout=0.01) is None  # times out, returns nothing
    consumer = threading.Thread(target=lambda: got.append(gate.take(timeout=10)))
    consumer.start()
    gate.close()
    consumer.join(5)
    assert not consumer.is_alive() and got[1] is None
    assert gate.put('late', 2.0) is False and gate.poll() is None
    gate.reopen()
    gate.put('again', 3.0)
    assert gate.poll().item == 'again'


def test_every_frame_is_taken_or_dropped_under_concurrency():
    gate = FrameGate()
    taken = []
    done = threading.Event()

    def consume():
        while not done.is_set() or gate.counts().pending:
            frame = gate.take(timeout=0.01)
            if frame is not None:
                taken.append(frame.seq)

    consumer = threading.Thread(target=consume)
    consumer.start()
    for i in range(5000):
        gate.put(i, float(i))
    done.set()
    consumer.join(10)
    counts = gate.counts()
    assert counts.arrived == 5000 and counts.pending == 0
    assert counts.taken + counts.dropped == 5000 and counts.taken == len(taken)
    assert taken == sorted(taken) and taken[-1] == 4999  # in order; the last frame is never lost


def simulate(camera_hz: float, inference_s: float, duration_s: float, use_gate: bool):
    """
    Discrete-event run of camera -> (gate | FIFO queue) -> one inference worker, fake clock.

    Returns per-frame latencies (completion - capture) and the pipeline stats.
    """
    period = 1.0 / camera_hz
    arrivals = [k * period for k in range(int(duration_s * camera_hz))]
    gate, fifo = FrameGate(), deque()
    stats = PipelineStats(window_s=2.0)
    latencies, busy_until, i = [], 0.0, 0
    now = 0.0
    while i < len(arrivals) or gate.counts().pending or fifo:
        # the next event is either a frame arriving or the worker becoming free
        next_arrival = arrivals[i] if i < len(arrivals) else np.inf
        if next_arrival <= busy_until or (not gate.counts().pending and not fifo):
            now = max(now, next_arrival)
            stats.on_input(now)
            if use_gate:
                if gate.put(arrivals[i], now):
                    stats.on_drop()
            else:
                fifo.append(arrivals[i])
            i += 1
            continue
        now = max(now, busy_until)
        captured = gate.poll().item if use_gate else fifo.popleft()
        busy_until = now + inference_s
        latencies.append((busy_until - captured) * 1e3)
        stats.on_output(busy_until, latencies[-1], inference_s * 1e3)
    return np.array(latencies), stats, busy_until


@pytest.mark.parametrize('inference_ms', [45.0, 70.0, 120.0])
def test_slow_inference_drops_frames_and_latency_stays_bounded(inference_ms):
    inference_s = inference_ms / 1e3
    latencies, stats, end = simulate(30.0, inference_s, 20.0, use_gate=True)
    snap = stats.snapshot(end)
    assert snap.received == 600
    assert snap.processed + snap.dropped == snap.received  # nothing lost silently
    assert snap.dropped > 0
    # throughput is what inference allows; while the camera runs, a frame waits at most one
    # period in the slot before a newer one replaces it, so latency <= period + inference
    assert snap.processed == pytest.approx(20.0 / inference_s, rel=0.05)
    assert latencies[:-1].max() <= (1 / 30 + inference_s) * 1e3 + 1e-6
    assert latencies[-1] <= 2 * inference_s * 1e3 + 1e-6  # the last frame: no newer one came
    assert latencies[-50:].mean() == pytest.approx(latencies[:50].mean(), rel=0.25)
    assert snap.output_hz == pytest.approx(1 / inference_s, rel=0.1)
    assert snap.pipeline_p95_ms <= (1 / 30 + inference_s) * 1e3


def test_a_fifo_queue_would_let_latency_grow_without_bound():
    """The reference the gate is compared against: same camera, same inference, a queue."""
    latencies, stats, _ = simulate(30.0, 0.070, 20.0, use_gate=False)
    assert stats.dropped == 0
    assert latencies[-1] > 20 * latencies[0]  # seconds behind the camera after 20 s
    gated, _, _ = simulate(30.0, 0.070, 20.0, use_gate=True)
    assert gated.max() < latencies[-1] / 10


def test_fast_inference_drops_nothing():
    latencies, stats, end = simulate(30.0, 0.020, 10.0, use_gate=True)
    assert stats.dropped == 0 and stats.snapshot(end).processed == 300
    assert latencies.max() == pytest.approx(20.0)
