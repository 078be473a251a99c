"""Pipelines: chain optimizers, compressors and plain functions under one budget.

See ``Pipeline`` for argument routing and the budget rule; ``_stages`` for the stage protocol.
"""

from ._pipeline import Pipeline
from ._stages import Role

__all__ = ["Pipeline", "Role"]
