"""``POST /compress/documents/``: a retrieved set compressed as one context (a ScaleDown server extension).

The hosted service takes one ``context`` per request; a retrieved set sent that way would have to be
split again from the compressed text, which nothing in the protocol marks. This route takes the set
with its boundaries (``documents``: ``[{"text", "id"?, "score"?}]``), runs
:meth:`LocalCompressor.compress_documents` and answers one entry per document, in input order
(``documents``: ``[{"index", "id", "content", "original_tokens", "compressed_tokens", "relevance",
"retriever_score", "whole", "warnings"}]``) beside the protocol's totals. ``prompt``, ``scaledown``
(``rate``, ``max_tokens``, ``preserve_keywords``, ``preserve_words``) and ``model`` mean what they mean
for ``/compress/raw/``. Each document's ``content`` is its kept text alone: the prompt is not appended.
"""

# No "from __future__ import annotations": FastAPI reads the route annotations at definition time.

import time
from typing import Any, Awaitable, Callable, Optional

__all__ = ["add_documents_route", "MAX_DOCUMENTS"]

# A retrieved set is tens of documents; thousands are accepted (the body limit bounds their size).
MAX_DOCUMENTS = 10_000


def add_documents_route(app: Any, *, check_key: Callable[..., None],
                        run_in_slot: Callable[[Callable[[], Any]], Awaitable[Any]], options_model: type,
                        make_compressor: Callable[..., Any], responses: dict[int, Any]) -> None:
    """Register ``POST /compress/documents/`` on ``app``, under the same key check, compression slots and
    request timeout as ``/compress/raw/`` (``run_in_slot``)."""
    from fastapi import Depends, HTTPException
    from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr

    from ..compressor.documents import DOCUMENTS_ENDPOINT, documents_response_body
    from ..retrieval.text import lone_surrogate

    class DocumentIn(BaseModel):
        model_config = ConfigDict(extra="ignore")
        text: StrictStr
        id: Optional[StrictStr] = None
        score: Optional[StrictFloat | StrictInt] = None

    class DocumentsRequest(BaseModel):
        model_config = ConfigDict(extra="ignore")
        documents: list[DocumentIn] = Field(max_length=MAX_DOCUMENTS)
        prompt: str = Field(min_length=1)
        scaledown: options_model  # type: ignore[valid-type]
        model: Optional[str] = None

    @app.post(DOCUMENTS_ENDPOINT, dependencies=[Depends(check_key)], responses=responses)
    async def compress_documents(req: DocumentsRequest) -> dict[str, Any]:
        """Compress ``documents`` for ``prompt`` as one context; one entry per document, in order."""
        if not req.prompt.strip():
            raise HTTPException(status_code=400, detail="prompt must be a non-empty string")
        for i, text in enumerate([d.text for d in req.documents] + [req.prompt]):
            if lone_surrogate(text) is not None:
                name = f"documents[{i}].text" if i < len(req.documents) else "prompt"
                raise HTTPException(status_code=400, detail=f"{name} holds a lone surrogate: not valid Unicode text")
        opts = req.scaledown
        try:
            compressor = make_compressor(model=req.model, rate=opts.rate, preserve_keywords=opts.preserve_keywords,
                                         preserve_words=opts.preserve_words)
        except (ValueError, TypeError) as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from exc
        started = time.perf_counter()
        result = await run_in_slot(lambda: compressor.compress_documents(
            [d.text for d in req.documents], req.prompt, opts.max_tokens,
            ids=[d.id for d in req.documents], scores=[d.score for d in req.documents]))
        return documents_response_body(result, (time.perf_counter() - started) * 1000.0)
