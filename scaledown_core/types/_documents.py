"""Results of compressing a retrieved set: one entry per input document, and the set's figures."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Iterator

from ._results import CompressionMetrics, compression_ratio, savings_percent

__all__ = ["DocumentCompression", "CompressedDocuments"]


@dataclass
class DocumentCompression:
    """What was kept of one input document. ``content`` is ``""`` when nothing of it was kept."""

    index: int
    """The document's position in the input."""
    content: str
    original_tokens: int
    compressed_tokens: int
    id: str | None = None
    """The id the caller passed for it, if any."""
    relevance: float = 0.0
    """The document's best unit score relative to the best document of the set (1.0 = the best)."""
    retriever_score: float | None = None
    """The score the caller passed for it (a retriever's similarity), untouched."""
    whole: bool = False
    """Every unit of the document was kept (its text as it was, trimmed)."""
    warnings: list[str] = field(default_factory=list)
    """What happened to this document beyond selection: blank, a duplicate, cut inside a sentence."""

    @property
    def kept(self) -> bool:
        return bool(self.content)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class CompressedDocuments:
    """A retrieved set compressed as one context: ``documents`` in input order, one per input."""

    documents: list[DocumentCompression]
    metrics: CompressionMetrics
    """Totals over the set: original and kept tokens, the rate aimed at, latency; ``extra`` holds the
    budget, the set's warnings and the engine's figures."""

    def __iter__(self) -> Iterator[DocumentCompression]:
        return iter(self.documents)

    def __len__(self) -> int:
        return len(self.documents)

    def __getitem__(self, i: int) -> DocumentCompression:
        return self.documents[i]

    @property
    def kept(self) -> list[DocumentCompression]:
        """The documents of which something was kept, in input order."""
        return [d for d in self.documents if d.content]

    @property
    def compression_ratio(self) -> float:
        return compression_ratio(self.metrics.original_prompt_tokens, self.metrics.compressed_prompt_tokens)

    @property
    def savings_percent(self) -> float:
        return savings_percent(self.metrics.original_prompt_tokens, self.metrics.compressed_prompt_tokens)

    @property
    def warnings(self) -> list[str]:
        return list(self.metrics.extra.get("warnings") or [])

    def to_dict(self) -> dict[str, Any]:
        return {"documents": [d.to_dict() for d in self.documents], "metrics": asdict(self.metrics)}
