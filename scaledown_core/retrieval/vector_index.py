"""An exact inner-product index over L2-normalised vectors (FAISS ``IndexFlatIP``, imported when built)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..exceptions import MissingDependencyError

__all__ = ["VectorIndex"]


def _faiss() -> Any:
    try:
        import faiss
    except ImportError as exc:
        raise MissingDependencyError("faiss-cpu", "semantic") from exc
    return faiss


class VectorIndex:
    """Vectors ``0..n-1`` searched by inner product (cosine similarity when both sides are normalised)."""

    def __init__(self, vectors: np.ndarray) -> None:
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2:
            raise ValueError(f"vectors must be a 2-D array (n, dim); got shape {vectors.shape}")
        self.dim = int(vectors.shape[1])
        self.size = int(vectors.shape[0])
        self._index: Any = None
        if self.size:
            if self.dim == 0:
                raise ValueError("vectors must have at least one dimension")
            faiss = _faiss()
            self._index = faiss.IndexFlatIP(self.dim)
            self._index.add(np.ascontiguousarray(vectors))

    def __len__(self) -> int:
        return self.size

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best ids per query, best first: ``(scores, ids)``, each of shape ``(n_queries, k')``.

        ``k' = min(k, len(self))``; an empty index gives arrays with no columns.
        """
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"k must be a positive integer; got {k!r}")
        queries = np.asarray(queries, dtype=np.float32)
        if queries.ndim == 1:
            queries = queries[None, :]
        if queries.ndim != 2:
            raise ValueError(f"queries must be a 1-D or 2-D array; got shape {queries.shape}")
        n = queries.shape[0]
        if self._index is None:
            return np.zeros((n, 0), dtype=np.float32), np.zeros((n, 0), dtype=np.int64)
        if queries.shape[1] != self.dim:
            raise ValueError(f"query dimension {queries.shape[1]} does not match the index's {self.dim}")
        scores, ids = self._index.search(np.ascontiguousarray(queries), min(k, self.size))
        return scores, ids.astype(np.int64, copy=False)
