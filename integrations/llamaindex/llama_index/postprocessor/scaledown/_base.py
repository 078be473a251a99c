"""The shape every ScaleDown node postprocessor shares: nodes in, one reduced copy per node out."""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import Any, List, Optional, Sequence

from llama_index.core.bridge.pydantic import ConfigDict, Field
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.schema import NodeWithScore, QueryBundle

from ._nodes import copy_with_text, figures_of, query_of, text_of

__all__ = ["BaseScaleDownPostprocessor", "Job", "Plan", "check_engine"]

NO_ROOM = "max_tokens left no room for this node: its text was emptied"


@dataclass(frozen=True)
class Job:
    """One node's text to reduce and its token ceiling (None: the engine's own default)."""

    index: int
    text: str
    max_tokens: Optional[int]
    path: Optional[str] = None
    """Where the node's text came from (``file_path`` metadata), when known."""


class BaseScaleDownPostprocessor(BaseNodePostprocessor):
    """Reduce each node's text against the query with a ScaleDown engine; return copies, in order.

    Subclasses name the engine (``_engine``) and run a list of jobs through it (``_run``/``_arun``).
    """

    max_tokens: Optional[int] = Field(
        default=None,
        ge=1,
        description=(
            "Budget for the texts of all nodes of one call together, in the engine's target-model "
            "tokens; shared in proportion to each node's size. None: each node gets the engine's default."
        ),
    )

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    @property
    @abstractmethod
    def _engine(self) -> Any:
        """The core object doing the work (has ``target_model``)."""

    @abstractmethod
    def _run(self, jobs: Sequence[Job], query: str) -> list[Any]:
        """One core result (``CompressedPrompt``/``OptimizedContext``) per job, in job order."""

    @abstractmethod
    async def _arun(self, jobs: Sequence[Job], query: str) -> list[Any]:
        """``_run`` through the engine's async API."""

    def _postprocess_nodes(
        self,
        nodes: List[NodeWithScore],
        query_bundle: Optional[QueryBundle] = None,
    ) -> List[NodeWithScore]:
        if not nodes:
            return []
        query = query_of(query_bundle, self.class_name())
        plan = self._plan(nodes)
        return plan.assemble(nodes, self._run(plan.jobs, query) if plan.jobs else [])

    async def _apostprocess_nodes(
        self,
        nodes: List[NodeWithScore],
        query_bundle: Optional[QueryBundle] = None,
    ) -> List[NodeWithScore]:
        if not nodes:
            return []
        query = query_of(query_bundle, self.class_name())
        plan = self._plan(nodes)
        return plan.assemble(nodes, await self._arun(plan.jobs, query) if plan.jobs else [])

    def _plan(self, nodes: Sequence[NodeWithScore]) -> Plan:
        """What to send to the engine: non-empty texts with room left, each with its ceiling."""
        texts = [text_of(n) for n in nodes]
        sizes: list[int] = [0] * len(nodes)
        ceilings: list[Optional[int]] = [None] * len(nodes)
        if self.max_tokens is not None:
            from scaledown_core.retrieval import share_budget
            from scaledown_core.tokens import get_counter

            sizes = get_counter(self._engine.target_model).count_many(texts)
            ceilings = share_budget(sizes, self.max_tokens)
        jobs = [
            Job(i, text, ceiling, nodes[i].node.metadata.get("file_path"))
            for i, (text, ceiling) in enumerate(zip(texts, ceilings))
            if text.strip() and ceiling != 0
        ]
        return Plan(texts, sizes, jobs)


@dataclass(frozen=True)
class Plan:
    """The nodes' texts, their sizes (counted only under a budget) and the engine's jobs."""

    texts: list[str]
    sizes: list[int]
    jobs: list[Job]

    def assemble(self, nodes: Sequence[NodeWithScore], results: Sequence[Any]) -> list[NodeWithScore]:
        """One copy per input node: the engine's text where it ran, else the text as it was (or emptied)."""
        by_index = {job.index: result for job, result in zip(self.jobs, results)}
        out: list[NodeWithScore] = []
        for i, nws in enumerate(nodes):
            if i in by_index:
                result = by_index[i]
                out.append(copy_with_text(nws, result.content, *figures_of(result)))
            elif self.texts[i].strip():  # the shared budget left no room for this node
                out.append(copy_with_text(nws, "", self.sizes[i], 0, [NO_ROOM]))
            else:
                out.append(copy_with_text(nws, self.texts[i], 0, 0))
        return out


def check_engine(engine: Any, methods: Sequence[str], field: str) -> None:
    """A clear ``TypeError`` when ``engine`` lacks what the postprocessor calls."""
    missing = [m for m in (*methods, "target_model") if not hasattr(engine, m)]
    if missing:
        raise TypeError(
            f"{field} must be a ScaleDown engine with {', '.join(methods)} and target_model; "
            f"{type(engine).__name__} lacks {', '.join(missing)}"
        )
