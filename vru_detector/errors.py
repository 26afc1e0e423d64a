"""
Error types the runtime raises; callers (the node, the CLIs) catch these and nothing else.

Each message says what was expected, what was found, and what to do about it.
"""


class VruDetectorError(Exception):
    """Base class of every error this package raises on purpose."""


class ModelLoadError(VruDetectorError):
    """The model file is missing, corrupt, or does not fit this runtime (raised at start-up)."""


class ArtifactMetadataError(ModelLoadError):
    """The model file lacks the metadata (class names, input size, stride) the runtime needs."""


class BackendUnavailableError(ModelLoadError):
    """The requested inference backend (TensorRT, torch, a GPU provider) is not installed here."""


class InvalidImageError(VruDetectorError, ValueError):
    """An input image cannot be turned into an HxWx3 uint8 BGR array (skip the frame, go on)."""


class ModelOutputError(VruDetectorError):
    """The model produced output of the wrong shape or non-finite values (skip the frame)."""
