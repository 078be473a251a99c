"""What the ScaleDown node postprocessors share: reading the query and the text, and node copies."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from llama_index.core.schema import MetadataMode, NodeWithScore, QueryBundle

__all__ = [
    "ORIGINAL_TOKENS",
    "COMPRESSED_TOKENS",
    "WARNINGS",
    "query_of",
    "text_of",
    "copy_with_text",
    "figures_of",
]

logger = logging.getLogger(__name__)

ORIGINAL_TOKENS = "original_tokens"
"""Metadata key: tokens of the node's text before ScaleDown (target-model tokens)."""
COMPRESSED_TOKENS = "compressed_tokens"
"""Metadata key: tokens of the node's text after ScaleDown (target-model tokens)."""
WARNINGS = "scaledown_warnings"
"""Metadata key, present only when the engine reported a degradation (model fallback, budget too small)."""
_OUR_KEYS = (ORIGINAL_TOKENS, COMPRESSED_TOKENS, WARNINGS)


def query_of(query_bundle: QueryBundle | None, owner: str) -> str:
    """The query text of ``query_bundle``; a clear ``ValueError`` when there is none."""
    if query_bundle is None or not query_bundle.query_str or not query_bundle.query_str.strip():
        raise ValueError(
            f"{owner} needs the query: use it in a query engine, or call "
            "postprocess_nodes(nodes, query_str='...')"
        )
    return query_bundle.query_str


def text_of(nws: NodeWithScore) -> str:
    """The node's own text, without metadata (what ScaleDown reduces)."""
    return nws.node.get_content(metadata_mode=MetadataMode.NONE) or ""


def figures_of(result: Any) -> tuple[int, int, list[str]]:
    """Original tokens, output tokens and warnings of a ``CompressedPrompt`` or ``OptimizedContext``."""
    metrics = result.metrics
    if hasattr(metrics, "original_prompt_tokens"):
        warnings = list(metrics.extra.get("warnings") or [])
        return metrics.original_prompt_tokens, metrics.compressed_prompt_tokens, warnings
    return metrics.original_tokens, metrics.optimized_tokens, list(metrics.warnings)


def copy_with_text(
    nws: NodeWithScore, text: str, original: int, compressed: int, warnings: Sequence[str] = (),
    extra: dict[str, Any] | None = None,
) -> NodeWithScore:
    """A deep copy of ``nws`` holding ``text``, with the figures in metadata.

    Id, relationships, other metadata, exclusions and score are kept. The figures are excluded from
    what the LLM and the embedding model see, so they never cost prompt tokens.
    """
    try:
        node = nws.node.model_copy(deep=True)
    except Exception as exc:  # noqa: BLE001 - a lock, a generator, a client: values that cannot be copied
        logger.warning("node %s: could not be deep-copied (%s); its metadata values are shared with the "
                       "input node", nws.node.node_id, exc)
        node = nws.node.model_copy(update={"metadata": dict(nws.node.metadata)})
    node.set_content(text)
    node.metadata[ORIGINAL_TOKENS] = original
    node.metadata[COMPRESSED_TOKENS] = compressed
    node.metadata.update(extra or {})
    if warnings:
        node.metadata[WARNINGS] = list(warnings)
    else:
        node.metadata.pop(WARNINGS, None)
    node.excluded_llm_metadata_keys = _with_ours(node.excluded_llm_metadata_keys, extra)
    node.excluded_embed_metadata_keys = _with_ours(node.excluded_embed_metadata_keys, extra)
    return NodeWithScore(node=node, score=nws.score)


def _with_ours(keys: Sequence[str], extra: dict[str, Any] | None = None) -> list[str]:
    return list(dict.fromkeys([*keys, *_OUR_KEYS, *(extra or {})]))
