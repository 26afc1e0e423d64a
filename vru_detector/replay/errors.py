"""Errors of the replay tools (candidates for ``vru_detector/errors.py`` on merge)."""
from ..errors import VruDetectorError


class LabelFormatError(VruDetectorError, ValueError):
    """
    A ground-truth file (YOLO txt, COCO/BDD100K JSON, MOT gt.txt) is malformed or unsafe.

    Raised for every kind of bad label input (wrong field count, non-numbers, unknown class,
    a path escaping the dataset folder), never IndexError/KeyError/TypeError.
    """


class BagReadError(VruDetectorError):
    """A rosbag2 cannot be read: missing or corrupt files, missing topic, undecodable image."""
