"""
vru_detector: live detection of vulnerable road users (ROS-free core; ROS shell in ``ros/``).

>>> from vru_detector import Detector
>>> dets = Detector('student_int8.onnx')(image_bgr)
"""
from .detections import Detections
from .detector import Detector, StageTimes
from .errors import (ArtifactMetadataError, BackendUnavailableError, InvalidImageError,
                     ModelLoadError, ModelOutputError, VruDetectorError)

__all__ = ['Detector', 'Detections', 'StageTimes', 'VruDetectorError', 'ModelLoadError',
           'ArtifactMetadataError', 'BackendUnavailableError', 'InvalidImageError',
           'ModelOutputError']
__version__ = '0.1.0'
