"""``ScaleDownCompressorPostprocessor``: compress each retrieved node's text against the query."""

from __future__ import annotations

import asyncio
from typing import Any, Optional, Sequence

from llama_index.core.bridge.pydantic import Field, model_validator

from ._base import BaseScaleDownPostprocessor, Job, check_engine

__all__ = ["ScaleDownCompressorPostprocessor"]


class ScaleDownCompressorPostprocessor(BaseScaleDownPostprocessor):
    """Compress the text of each node against the query with a ScaleDown compressor.

    ``compressor`` is ``LocalCompressor()`` by default (in-process, offline, no key); pass a
    ``ScaleDownCompressor`` to use the hosted service, or a ``LocalCompressor`` with other options
    (``rate``, ``embeddings``, ``target_model``). Each output node is a copy of its input node (same
    id, relationships, metadata and score) holding the compressed text, with ``original_tokens`` and
    ``compressed_tokens`` added to its metadata (hidden from the LLM and the embedding model).
    ``max_tokens`` caps the texts of all nodes of one call together.

    Note: the hosted service's answer stands for context **and** query together, so with a
    ``ScaleDownCompressor`` each node may end with the query; ``LocalCompressor`` returns the
    compressed context alone.

    Example:
        .. code-block:: python

            from llama_index.postprocessor.scaledown import ScaleDownCompressorPostprocessor

            query_engine = index.as_query_engine(
                similarity_top_k=5,
                node_postprocessors=[ScaleDownCompressorPostprocessor(max_tokens=1500)],
            )
    """

    compressor: Any = Field(
        default=None,
        exclude=True,
        description="LocalCompressor (default) or ScaleDownCompressor; anything with compress/acompress.",
    )

    @model_validator(mode="after")
    def _default_compressor(self) -> "ScaleDownCompressorPostprocessor":
        if self.compressor is None:
            from scaledown_core import LocalCompressor

            self.compressor = LocalCompressor()
        check_engine(self.compressor, ("compress", "acompress"), "compressor")
        return self

    @classmethod
    def class_name(cls) -> str:
        return "ScaleDownCompressorPostprocessor"

    @property
    def _engine(self) -> Any:
        return self.compressor

    def _run(self, jobs: Sequence[Job], query: str) -> list[Any]:
        results: list[Any] = [None] * len(jobs)
        for positions, ceiling in _by_ceiling(jobs):
            batch = self.compressor.compress([jobs[p].text for p in positions], query, max_tokens=ceiling)
            for p, result in zip(positions, batch):
                results[p] = result
        return results

    async def _arun(self, jobs: Sequence[Job], query: str) -> list[Any]:
        groups = _by_ceiling(jobs)
        batches = await asyncio.gather(
            *(
                self.compressor.acompress([jobs[p].text for p in positions], query, max_tokens=ceiling)
                for positions, ceiling in groups
            )
        )
        results: list[Any] = [None] * len(jobs)
        for (positions, _), batch in zip(groups, batches):
            for p, result in zip(positions, batch):
                results[p] = result
        return results


def _by_ceiling(jobs: Sequence[Job]) -> list[tuple[list[int], Optional[int]]]:
    """Job positions grouped by ceiling, so jobs with the same ceiling go in one batched call."""
    groups: dict[Optional[int], list[int]] = {}
    for position, job in enumerate(jobs):
        groups.setdefault(job.max_tokens, []).append(position)
    return [(positions, ceiling) for ceiling, positions in groups.items()]

