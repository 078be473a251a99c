"""The stage protocol: what a pipeline step is, which role it plays, which arguments it accepts.

A step is one of:

- an **optimizer**: has ``optimize(context, query, file_path, max_tokens)`` (and optionally an
  ``async def aoptimize`` with the same arguments) returning an object with a ``content`` string;
- a **compressor**: has ``compress(context, prompt, max_tokens)`` (and optionally an
  ``async def acompress``) returning an object with a ``content`` string;
- a **callable** ``str -> str`` (a plain function or an ``async def`` one).

A stage receives only the protocol arguments its method declares: a parameter that is not in its
signature is never passed (unless the method takes ``**kwargs``). A stage's keyword-only parameters
(``rate``, ``preserve_words``, ...) other than the protocol's are its per-call options: an extra
keyword given to ``Pipeline.run`` goes to every stage that declares it so, and to no other.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from enum import Enum
from typing import Any, Callable

__all__ = ["Role", "Entry", "StageSpec", "describe_stage", "OPTIMIZER_ARGS", "COMPRESSOR_ARGS"]


class Role(str, Enum):
    """What a pipeline step does, which decides the arguments it gets."""

    OPTIMIZER = "optimizer"
    COMPRESSOR = "compressor"
    CALLABLE = "callable"


# The protocol arguments each role may receive besides the text it works on (``context``).
OPTIMIZER_ARGS = ("query", "file_path", "max_tokens")
COMPRESSOR_ARGS = ("prompt", "max_tokens")

# Keyword-only parameters the pipeline itself sets (or that a single pipeline run has no use for), so
# never a per-call option: the source's name belongs to the first stage, one run is never a batch.
_NOT_OPTIONS = frozenset({"context", "context_path", "return_exceptions", *OPTIMIZER_ARGS, *COMPRESSOR_ARGS})

_SYNC_METHOD = {Role.OPTIMIZER: "optimize", Role.COMPRESSOR: "compress"}
_ASYNC_METHOD = {Role.OPTIMIZER: "aoptimize", Role.COMPRESSOR: "acompress"}


@dataclass(frozen=True)
class Entry:
    """One way into a stage (its sync method, its coroutine method, or the callable itself)."""

    call: Callable[..., Any]
    accepts: frozenset[str] | None
    """Protocol argument names the entry declares; None when it takes ``**kwargs`` (it accepts all)."""
    context_keyword: bool
    """True when the text goes in as ``context=``; False when it goes first, positionally."""
    options: frozenset[str] = frozenset()
    """The per-call options the entry declares (keyword-only parameters outside the protocol)."""

    def takes(self, argument: str) -> bool:
        return self.accepts is None or argument in self.accepts


@dataclass(frozen=True)
class StageSpec:
    """One validated pipeline step: its name, the object, its role and its entry points."""

    name: str
    stage: Any
    role: Role
    sync: Entry | None
    """The blocking entry (``optimize``, ``compress``, the callable); None for an ``async def`` callable."""
    native_async: Entry | None
    """The coroutine entry (``aoptimize``, ``acompress``, an ``async def`` callable), if the stage has one."""

    @property
    def kind(self) -> str:
        """A short description for messages: ``'haste' (HasteOptimizer, optimizer)``."""
        return f"{self.name!r} ({_type_name(self.stage)}, {self.role.value})"

    @property
    def target_model(self) -> str | None:
        model = getattr(self.stage, "target_model", None)
        return model if isinstance(model, str) and model.strip() else None


def _type_name(stage: Any) -> str:
    if inspect.isfunction(stage) or inspect.isbuiltin(stage):
        return f"function {stage.__name__}"
    return type(stage).__name__


def _role_of(name: str, stage: Any) -> Role:
    if isinstance(stage, type):
        raise TypeError(
            f"stage {name!r} is the class {stage.__name__} (pass an instance), which is neither an optimizer "
            "(with optimize()), a compressor (with compress()) nor a callable str -> str"
        )
    has_optimize = callable(getattr(stage, "optimize", None))
    has_compress = callable(getattr(stage, "compress", None))
    if has_optimize and has_compress:
        raise TypeError(
            f"stage {name!r} ({type(stage).__name__}) has both optimize() and compress(), so its role "
            "is ambiguous; wrap the one you mean in a function or a small class"
        )
    if has_optimize:
        return Role.OPTIMIZER
    if has_compress:
        return Role.COMPRESSOR
    if callable(stage):
        return Role.CALLABLE
    raise TypeError(
        f"stage {name!r} is a {type(stage).__name__}, which is neither an optimizer (with optimize()), "
        "a compressor (with compress()) nor a callable str -> str"
    )


def _is_coroutine_function(func: Any) -> bool:
    if inspect.iscoroutinefunction(func):
        return True
    # an object whose __call__ is ``async def``
    call = getattr(type(func), "__call__", None)
    return not inspect.isroutine(func) and call is not None and inspect.iscoroutinefunction(call)


def _entry(func: Callable[..., Any], protocol: tuple[str, ...]) -> Entry:
    try:
        params = list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError):  # builtins without a signature: pass the text alone
        return Entry(func, frozenset(), context_keyword=False)
    named = {p.name: p for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    takes_kwargs = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params)
    accepts = None if takes_kwargs else frozenset(n for n in protocol if n in named)
    options = frozenset(p.name for p in params if p.kind is p.KEYWORD_ONLY and p.name not in _NOT_OPTIONS)
    return Entry(func, accepts, context_keyword="context" in named, options=options)


def describe_stage(name: Any, stage: Any) -> StageSpec:
    """Validate one ``(name, stage)`` step and record its role and entry points.

    Raises ``TypeError`` for a stage of no known role and ``ValueError`` for a bad name.
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"every step needs a non-empty string name; got {name!r}")
    role = _role_of(name, stage)
    if role is Role.CALLABLE:
        entry = Entry(stage, frozenset(), context_keyword=False)
        if _is_coroutine_function(stage):
            return StageSpec(name, stage, role, sync=None, native_async=entry)
        return StageSpec(name, stage, role, sync=entry, native_async=None)

    protocol = OPTIMIZER_ARGS if role is Role.OPTIMIZER else COMPRESSOR_ARGS
    sync = _entry(getattr(stage, _SYNC_METHOD[role]), protocol)
    async_method = getattr(stage, _ASYNC_METHOD[role], None)
    # A non-coroutine ``aoptimize`` is no native async path; arun then runs the sync method in a thread.
    native = _entry(async_method, protocol) if _is_coroutine_function(async_method) else None
    return StageSpec(name, stage, role, sync=sync, native_async=native)
