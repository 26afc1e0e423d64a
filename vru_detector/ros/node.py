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
detector_node: a managed (lifecycle) ROS 2 node that publishes VRU detections for a camera.

Transitions: configure loads the model (a TensorRT engine is built or loaded here, never per
frame) and creates the publishers; activate subscribes to the camera and starts the inference
thread; deactivate unsubscribes and frees the model (GPU memory); cleanup drops the
publishers. ``main()`` configures and activates the node itself unless ``autostart`` is false.

Topics (relative names, remap them): ``image`` (sensor_msgs/Image) or ``image/compressed``
(sensor_msgs/CompressedImage) in; ``detections`` (vision_msgs/Detection2DArray, the input
header), ``debug_image`` (sensor_msgs/Image, drawn only while subscribed) and ``/diagnostics``
out. The camera callback only drops the message into a newest-frame-wins slot; a separate
thread runs inference on the newest frame, so latency never grows behind a queue. Activate
warms the whole per-frame path up before it subscribes, so the first frames are not dropped
behind first-run costs, and collects then freezes the garbage collector's heap, so that a full
collection (a GIL pause of 100+ ms) does not fall on the first frames. Pipeline latency is read
after the detections are published.
"""
from __future__ import annotations

import os
import threading
import time
from typing import Any, Dict, Optional

try:  # rclpy comes with a sourced ROS 2, not from pip: say so instead of a traceback
    from rcl_interfaces.msg import (FloatingPointRange, IntegerRange, ParameterDescriptor,
                                    ParameterType, SetParametersResult)
    import rclpy
    from rclpy.clock import Clock, ClockType
    from rclpy.executors import ExternalShutdownException
    from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
    from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
    from rclpy.serialization import serialize_message
    from rclpy.utilities import get_rmw_implementation_identifier
    from rosidl_runtime_py.utilities import get_message
except ImportError as exc:
    raise SystemExit(
        f'detector_node: needs a sourced ROS 2 (Humble or Jazzy): {exc.name or exc} cannot be '
        "imported. Run `source /opt/ros/humble/setup.bash` (or jazzy), then your workspace's "
        '`source install/setup.bash`, and start it with `ros2 run vru_detector detector_node` '
        'or `ros2 launch vru_detector detector.launch.py`. Without ROS, run the same detector '
        'on files and bags with vru-detect or vru-eval-bag.') from None

from .params import check_update, PARAMS, PARAMS_BY_NAME, ParamSpec, thresholds_from
from .pipeline import DetectionPipeline, settle_heap
from ..class_config import default_thresholds, load_class_config
from ..detector import Detector
from ..errors import VruDetectorError
from ..frame_gate import FrameGate
from ..health import HealthMonitor
from ..msgs.messages import diagnostics_msg, MessageTypes, stamp_seconds
from ..stats import PipelineStats
from ..tracker import make_tracker

NODE_NAME = 'vru_detector'
THRESHOLD_KEYS = ('conf', 'class_conf', 'classes')
WARN_PERIOD_S = 5.0

_PARAM_TYPES = {bool: ParameterType.PARAMETER_BOOL, int: ParameterType.PARAMETER_INTEGER,
                float: ParameterType.PARAMETER_DOUBLE, str: ParameterType.PARAMETER_STRING}


def descriptor(spec: ParamSpec) -> ParameterDescriptor:
    """Build the ROS parameter descriptor of ``spec``: type, description, range, read-only."""
    desc = ParameterDescriptor(name=spec.name, type=_PARAM_TYPES[type(spec.default)],
                               description=spec.description, read_only=spec.read_only)
    if spec.choices:
        desc.additional_constraints = f'one of {list(spec.choices)}'
    if spec.bounds is not None and isinstance(spec.default, float):
        desc.floating_point_range = [FloatingPointRange(
            from_value=float(spec.bounds[0]), to_value=float(spec.bounds[1]), step=0.0)]
    elif spec.bounds is not None and isinstance(spec.default, int):
        desc.integer_range = [IntegerRange(
            from_value=int(spec.bounds[0]), to_value=int(spec.bounds[1]), step=1)]
    return desc


class DetectorNode(LifecycleNode):
    """Lifecycle node around one Detector; see the module docstring for topics."""

    def __init__(self, node_name: str = NODE_NAME, **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        self.types = MessageTypes.from_lookup(get_message)
        for spec in PARAMS:
            self.declare_parameter(spec.name, spec.default, descriptor(spec))
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self.detector: Optional[Detector] = None
        self.gate: FrameGate = FrameGate()
        self.stats = PipelineStats()
        self._styles: Dict[str, Any] = {}
        self._class_defaults: Dict[str, float] = {}
        self._values: Dict[str, Any] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._worker: Optional[threading.Thread] = None
        self._pipeline: Optional[DetectionPipeline] = None
        self._sub = None
        self._pub_det = self._pub_debug = self._pub_diag = None
        self._diag_timer = self._lazy_timer = None
        self._health: Optional[HealthMonitor] = None  # made on activate
        # our timers run on the steady clock: under use_sim_time, ROS time (and any timer on
        # it) stops with /clock when a bag ends, and diagnostics must still say "no images"
        self._steady = Clock(clock_type=ClockType.STEADY_TIME)

    # -- parameters ---------------------------------------------------------------------------
    def parameter_values(self) -> Dict[str, Any]:
        """Map each of our parameter names to its current value."""
        return {name: self.get_parameter(name).value for name in PARAMS_BY_NAME}

    def _on_set_parameters(self, params) -> SetParametersResult:
        changes = {p.name: p.value for p in params if p.name in PARAMS_BY_NAME}
        if not changes:
            return SetParametersResult(successful=True)
        detector = self.detector
        names = detector.names if detector is not None else None
        error = check_update(changes, self.parameter_values(), self._class_defaults, names)
        if error:
            self.get_logger().warning(f'parameter change refused: {error}')
            return SetParametersResult(successful=False, reason=error)
        merged = {**self.parameter_values(), **changes}
        if detector is not None:
            if any(k in changes for k in THRESHOLD_KEYS):
                t = thresholds_from(merged, self._class_defaults, names)
                detector.set_thresholds(t.conf, t.class_conf, t.classes)
                self.get_logger().info(
                    f'thresholds now conf={t.conf} class_conf={t.class_conf} '
                    f'classes={t.classes or "all"}')
            detector.iou = float(merged['iou'])
            detector.max_det = int(merged['max_det'])
        return SetParametersResult(successful=True)

    # -- lifecycle ----------------------------------------------------------------------------
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._values = self.parameter_values()
        try:
            self._styles = load_class_config(self._values['class_config'] or None)
            self._class_defaults = default_thresholds(self._styles)
            self._load_detector()
        except (VruDetectorError, ValueError, OSError) as exc:
            self.get_logger().error(f'configure failed: {exc}')
            return TransitionCallbackReturn.FAILURE
        self._pub_det = self.create_lifecycle_publisher(
            self.types.Detection2DArray, 'detections', 10)
        self._pub_debug = self.create_lifecycle_publisher(
            self.types.Image, 'debug_image',
            QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE))
        self._pub_diag = self.create_publisher(self.types.DiagnosticArray, '/diagnostics', 10)
        return super().on_configure(state)

    def _load_detector(self) -> None:
        """Load the model and check thresholds against its classes (raises with the fix)."""
        v = self._values = self.parameter_values()
        if not v['model']:
            raise VruDetectorError(
                'parameter "model" is empty. Pass the exported model, e.g. `ros2 launch '
                'vru_detector detector.launch.py model:=/path/student_int8.onnx` or '
                '`ros2 run vru_detector detector_node --ros-args -p model:=/path/model.onnx`.')
        t0 = time.perf_counter()
        options = {'threads': v['threads']} if v['threads'] else {}
        detector = Detector(v['model'], backend=v['backend'] or None, device=v['device'],
                            iou=float(v['iou']), max_det=int(v['max_det']), **options)
        try:
            t = thresholds_from(v, self._class_defaults, detector.names)
        except ValueError as exc:
            detector.close()
            raise ValueError(
                f"{exc}. Fix class_conf / classes (or class_config) to use the model's "
                f'classes {list(detector.names)}.') from None
        detector.set_thresholds(t.conf, t.class_conf, t.classes)
        info = detector.info
        self.get_logger().info(
            f'model {v["model"]} loaded in {time.perf_counter() - t0:.1f} s: backend '
            f'{detector.backend.name}, precision {info.precision}, input {info.input_shape}, '
            f'classes {list(info.names)}; thresholds conf={t.conf} class_conf={t.class_conf} '
            f'classes={t.classes or "all"}')
        self.detector = detector

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        if self.detector is None:  # freed by a previous deactivate
            try:
                self._load_detector()
            except (VruDetectorError, ValueError, OSError) as exc:
                self.get_logger().error(f'activate failed: {exc}')
                return TransitionCallbackReturn.FAILURE
        self.stats = PipelineStats()
        try:
            tracker = make_tracker(self._values['tracker'])
        except VruDetectorError as exc:
            self.get_logger().error(f'activate failed: {exc}')
            return TransitionCallbackReturn.FAILURE
        self._pipeline = DetectionPipeline(self.detector, self.types, self.stats, self._styles,
                                           tracker=tracker)
        if self._values['warmup']:
            # rclpy's serialization converts the outputs as publish does, without publishing
            runs = self._pipeline.warm_up(draw=bool(self._values['debug_image']),
                                          serialize=serialize_message)
            settle_ms = settle_heap()
            self.get_logger().info(
                'warm-up before subscribing: the whole per-frame path on a 1280x720 frame, '
                f'{len(runs)} runs: ' + ', '.join(f'{ms:.0f}' for ms in runs) + ' ms; tracker, '
                f'messages and drawing on synthetic boxes; garbage collected and frozen in '
                f'{settle_ms:.0f} ms')
        self.gate = FrameGate()
        self._health = HealthMonitor(time.monotonic(), self._values['qos_reliability'],
                                     float(self._values['min_input_completeness']))
        self._stop.clear()
        self._worker = threading.Thread(target=self._run_worker, name='vru_inference',
                                        daemon=True)
        self._worker.start()
        if self._values['lazy_subscribe']:
            self._lazy_timer = self.create_timer(1.0, self._update_lazy_subscription,
                                                 clock=self._steady)
        else:
            self._subscribe()
        self._diag_timer = self.create_timer(float(self._values['diagnostics_period']),
                                             self._publish_diagnostics, clock=self._steady)
        return super().on_activate(state)

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        had_model = self.detector is not None
        self._teardown_activity(free_model=True)
        if had_model:
            self.get_logger().info('model released (deactivated)')
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._release_all()
        return super().on_cleanup(state)

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._release_all()
        return super().on_shutdown(state)

    def _teardown_activity(self, free_model: bool = False) -> None:
        for timer in (self._diag_timer, self._lazy_timer):
            if timer is not None:
                self.destroy_timer(timer)
        self._diag_timer = self._lazy_timer = None
        self._unsubscribe()
        self.stop_inference(free_model)

    def stop_inference(self, free_model: bool = True) -> None:
        """Stop the inference thread (and free the model) without touching ROS handles."""
        self._stop.set()
        self.gate.close()
        if self._worker is not None:
            self._worker.join(timeout=30.0)
            self._worker = None
        if not free_model:
            return
        self._pipeline = None
        if self.detector is not None:
            self.detector.close()
            self.detector = None

    def _release_all(self) -> None:
        self._teardown_activity(free_model=True)
        for pub in (self._pub_det, self._pub_debug):
            if pub is not None:
                self.destroy_lifecycle_publisher(pub)
        if self._pub_diag is not None:
            self.destroy_publisher(self._pub_diag)
        self._pub_det = self._pub_debug = self._pub_diag = None

    # -- input --------------------------------------------------------------------------------
    def _input_qos(self) -> QoSProfile:
        reliability = (ReliabilityPolicy.RELIABLE if self._values['qos_reliability'] == 'reliable'
                       else ReliabilityPolicy.BEST_EFFORT)
        return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=int(self._values['qos_depth']),
                          reliability=reliability, durability=DurabilityPolicy.VOLATILE)

    def _subscribe(self) -> None:
        with self._lock:
            if self._sub is not None:
                return
            compressed = self._values['image_type'] == 'compressed'
            msg_type = self.types.CompressedImage if compressed else self.types.Image
            topic = 'image/compressed' if compressed else 'image'
            self._sub = self.create_subscription(msg_type, topic, self._on_image,
                                                 self._input_qos())
            kind = 'sensor_msgs/CompressedImage' if compressed else 'sensor_msgs/Image'
            self.get_logger().info(
                f'subscribed to {self._input_topic()} ({kind}) with QoS '
                f'reliability={self._values["qos_reliability"]}, '
                f'depth={self._values["qos_depth"]}, durability=volatile. best_effort receives '
                'from any publisher; reliable receives nothing from a best_effort camera '
                f'(check with `ros2 topic info -v {self._input_topic()}`).')

    def _unsubscribe(self) -> None:
        with self._lock:
            if self._sub is not None:
                self.destroy_subscription(self._sub)
                self._sub = None

    def _input_topic(self) -> str:
        try:
            return self._sub.topic_name
        except AttributeError:
            return 'image'

    def _update_lazy_subscription(self) -> None:
        """Subscribe only while someone listens to our outputs (Autoware's pattern)."""
        listeners = self._pub_det.get_subscription_count()
        if self._values['debug_image']:
            listeners += self._pub_debug.get_subscription_count()
        if listeners and self._sub is None:
            self._subscribe()
        elif not listeners and self._sub is not None:
            self._unsubscribe()
            self.get_logger().info('no subscribers to detections: camera unsubscribed')

    def _on_image(self, msg: Any) -> None:
        now = time.monotonic()
        self.stats.on_input(now, stamp_seconds(msg.header))
        if self.gate.put(msg, now):
            self.stats.on_drop()

    # -- inference thread ---------------------------------------------------------------------
    def _run_worker(self) -> None:
        while not self._stop.is_set():
            frame = self.gate.take(timeout=0.2)
            if frame is None:
                continue
            try:
                self._process(frame.item)
            except Exception as exc:  # keep the node alive whatever one frame does
                self.stats.on_skip('internal_error')
                self.get_logger().error(f'frame failed: {type(exc).__name__}: {exc}',
                                        throttle_duration_sec=WARN_PERIOD_S)

    def _process(self, msg: Any) -> None:
        pipeline = self._pipeline
        if pipeline is None or self.detector is None:
            return
        draw = (self.get_parameter('debug_image').value
                and self._pub_debug.get_subscription_count() > 0)
        result = pipeline.process(msg, self._ros_now_s, draw, publish=self._pub_det.publish,
                                  publish_debug=self._pub_debug.publish)
        if result.skipped:
            self.get_logger().warning(result.error, throttle_duration_sec=WARN_PERIOD_S)

    def _ros_now_s(self) -> float:
        """ROS time now in seconds (sim time from /clock when use_sim_time is true)."""
        return self.get_clock().now().nanoseconds * 1e-9

    # -- diagnostics --------------------------------------------------------------------------
    def _publish_diagnostics(self) -> None:
        if self._health is None:  # not activated yet
            return
        now = time.monotonic()
        snap = self.stats.snapshot(now)
        detector = self.detector
        lazy_idle = (self._sub is None and self._values.get('lazy_subscribe'))
        level, message = self._health.report(
            snap, now, self._input_topic(),
            idle_reason='idle: no subscribers to detections' if lazy_idle else None)
        extra = {
            'backend': detector.backend.name if detector else 'none',
            'precision': detector.info.precision if detector else 'none',
            'model': self._values.get('model', ''),
            'input_topic': self._input_topic() if self._sub is not None else 'none',
            'input_type': self._values.get('image_type', ''),
            'qos_reliability': self._values.get('qos_reliability', ''),
            'use_sim_time': str(self.get_parameter('use_sim_time').value).lower(),
            'rmw_implementation': get_rmw_implementation_identifier(),
            'cyclonedds_uri': os.environ.get('CYCLONEDDS_URI', ''),
        }
        header = self.types.Header(stamp=self.get_clock().now().to_msg(), frame_id='')
        node = f'{self.get_namespace().rstrip("/")}/{self.get_name()}'
        self._pub_diag.publish(diagnostics_msg(
            snap, header, self.types, name=f'{node}: detector',
            hardware_id=str(self._values.get('device', '')), extra=extra, level=level,
            message=message))


def main(args=None) -> int:
    """Run detector_node: configure and activate it (unless autostart is false), then spin."""
    rclpy.init(args=args)
    node = DetectorNode()
    try:
        if node.get_parameter('autostart').value:
            if node.trigger_configure() != TransitionCallbackReturn.SUCCESS:
                node.get_logger().fatal('could not configure; see the error above')
                return 1
            if node.trigger_activate() != TransitionCallbackReturn.SUCCESS:
                node.get_logger().fatal('could not activate; see the error above')
                return 1
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.stop_inference()
        try:
            node.destroy_node()
        except Exception as exc:  # the context may already be gone after a signal
            print(f'detector_node: cleanup after shutdown: {exc}')
        rclpy.try_shutdown()
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
