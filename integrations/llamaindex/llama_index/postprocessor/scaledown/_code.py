"""The shared shape of the code-node postprocessors: each node's code reduced by a ScaleDown optimizer."""

from __future__ import annotations

import asyncio
from abc import abstractmethod
from typing import Any, Sequence

from llama_index.core.bridge.pydantic import Field, model_validator
from scaledown_core.optimizer import source_keywords

from ._base import BaseScaleDownPostprocessor, Job, check_engine

__all__ = ["BaseCodePostprocessor"]


class BaseCodePostprocessor(BaseScaleDownPostprocessor):
    """Keep only the parts of each code node that matter for the query, through an optimizer.

    Each node's text is treated as Python source (a file or a chunk of one; tree-sitter recovers from
    a chunk cut mid-definition). Subclasses name the default optimizer.
    """

    optimizer: Any = Field(
        default=None,
        exclude=True,
        description="The ScaleDown optimizer (anything with optimize/aoptimize and target_model).",
    )

    @model_validator(mode="after")
    def _default_optimizer(self) -> "BaseCodePostprocessor":
        if self.optimizer is None:
            self.optimizer = self._make_optimizer()
        check_engine(self.optimizer, ("optimize", "aoptimize"), "optimizer")
        return self

    @classmethod
    @abstractmethod
    def _make_optimizer(cls) -> Any:
        """The optimizer used when none is given."""

    @property
    def _engine(self) -> Any:
        return self.optimizer

    def _run(self, jobs: Sequence[Job], query: str) -> list[Any]:
        return [
            self.optimizer.optimize(
                context=j.text, query=query, max_tokens=j.max_tokens, **source_keywords(self.optimizer, j.path)
            )
            for j in jobs
        ]

    async def _arun(self, jobs: Sequence[Job], query: str) -> list[Any]:
        return list(
            await asyncio.gather(
                *(
                    self.optimizer.aoptimize(
                        context=j.text, query=query, max_tokens=j.max_tokens,
                        **source_keywords(self.optimizer, j.path),
                    )
                    for j in jobs
                )
            )
        )
