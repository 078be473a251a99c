"""Compressors: ``ScaleDownCompressor`` (the ScaleDown API client) and ``LocalCompressor`` (in-process)."""

from .client import ScaleDownCompressor
from .local import LocalCompressor

__all__ = ["ScaleDownCompressor", "LocalCompressor"]
