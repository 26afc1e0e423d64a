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
ament_python / pip build script for vru_detector.

The same file serves `colcon build` (ROS 2) and `pip install -e .` (everything else); see
README.md "Installing" for how the executables are found in each case.
"""
from glob import glob
import os

from setuptools import find_packages, setup

PACKAGE = 'vru_detector'

# What the node and `vru-detect` need on the robot: no torch, no plotting, no metrics.
# numpy stays >= 1.21 so that ROS 2's own numpy 1.x (Humble 1.21, Jazzy 1.26) keeps working:
# cv_bridge and the generated message modules are compiled against numpy 1.x (README, "numpy").
RUNTIME_REQUIRES = [
    'numpy>=1.21',
    'opencv-python-headless>=4.7',
    'onnx>=1.15',  # the ONNX Runtime and OpenVINO backends re-lay Q/DQ models (qdq_layout)
    'onnxruntime>=1.17',
    'pyyaml>=6',
    'tqdm>=4.64',
    'rosbags>=0.10',
    'rosbags-image>=0.10',
    'psutil>=5.9',
    'pillow>=9.4',  # image sizes of YOLO labels without decoding (vru-make-bag, replay)
]
EXTRAS = {
    # track IDs (node `tracker`, `vru-detect --tracker`): Roboflow's trackers (ByteTrack/SORT/
    # OC-SORT, no torch). It declares numpy>=2; see README "numpy" for ROS's numpy 1.x.
    'tracking': ['trackers>=2.6,<3'],
    # replay evaluation (`vru-eval-bag`): PR-curve plots, assignment for tracking metrics, and
    # trackeval's MOTChallenge metrics (HOTA, CLEAR, Identity)
    'eval': ['matplotlib>=3.7', 'scipy>=1.10', 'trackeval>=1.3'],
    # many bags at once (`vru-eval-bag BAG BAG ...`): one Ray task per bag, local or a cluster
    'fleet': ['ray>=2.9'],
    # Intel CPUs, iGPUs and NPUs: runs the same ONNX (FP32, INT8 Q/DQ) and OpenVINO IR; once
    # installed it is the automatic backend of .onnx on a CPU (docs/results/2026-12-03-openvino.md)
    'openvino': ['openvino>=2024.0'],
    'tensorrt': ['tensorrt>=8.6', 'cuda-python>=12'],
}
# What the test suite needs on top of the runtime. colcon reads extras_require['test'] to run
# `colcon test` with pytest (setuptools >= 72 ignores tests_require, so colcon never saw it and
# ran `python -m unittest`: 0 tests, green); package.xml has the same as <test_depend> for rosdep.
# It holds the test tools alone, so that a runtime-only venv with `.[test]` tests the runtime as
# the robot has it; the tests of the other extras skip there with the extra to install.
EXTRAS['test'] = [
    'pytest>=7',
    'pytest-timeout>=2',
    'hypothesis>=6',
]
# Everything a developer runs: all runtime extras, the metric references and the linters.
EXTRAS['dev'] = (EXTRAS['test'] + EXTRAS['eval'] + EXTRAS['tracking'] + EXTRAS['fleet']
                 + EXTRAS['openvino'] + [
    'pycocotools>=2.0.7',  # the reference of the mAP tests
    # the second reference of the tracking-metrics test (trackeval is the first); pip only, as
    # rosdep has no key for it, so under colcon that one comparison skips
    'motmetrics>=1.4',
    'mypy>=1.8',
    'ament-lint-flake8>=0.14',
    'ament-lint-pep257>=0.14',
    # the flake8 plugins ament_flake8 runs with on Humble (flake8 itself stays < 5 there)
    'flake8<5',
    'flake8-quotes',
    'flake8-import-order',
    'flake8-docstrings',
    'flake8-builtins',
    'flake8-comprehensions',
    'flake8-blind-except',
    'flake8-class-newline',
    'flake8-deprecated',
])

setup(
    name=PACKAGE,
    version='0.1.0',
    # the runtime only: training/ is its own distribution (training/pyproject.toml)
    packages=find_packages(include=[PACKAGE, PACKAGE + '.*']),
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + PACKAGE]),
        ('share/' + PACKAGE, ['package.xml']),
        (os.path.join('share', PACKAGE, 'launch'), glob('launch/*.launch.py')),
        (os.path.join('share', PACKAGE, 'config'), glob('config/*.yaml') + glob('config/*.xml')),
    ],
    package_data={PACKAGE: ['py.typed']},
    install_requires=RUNTIME_REQUIRES,
    extras_require=EXTRAS,
    python_requires='>=3.10',
    zip_safe=True,
    maintainer='vru_detector maintainers',
    maintainer_email='maintainers@vru-detector.invalid',
    description='Live VRU detection for ROS 2 with a distilled INT8 YOLOv8 student.',
    license='Apache-2.0',
    entry_points={
        'console_scripts': [
            'detector_node = vru_detector.ros.node:main',
            'vru-detect = vru_detector.cli.detect:main',
            'vru-eval-bag = vru_detector.replay.evaluate_bag:main',
            'vru-benchmark = vru_detector.replay.benchmark:main',
            'vru-make-bag = vru_detector.replay.make_bag:main',
            'vru-build-engine = vru_detector.backends.tensorrt:main',
            'vru-convert-openvino = vru_detector.backends.openvino:main',
        ],
    },
)
