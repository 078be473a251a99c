"""Pipeline: chain optimizers, compressors and plain functions, each consuming the previous output."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass, replace
from typing import Any, Iterator, Sequence

from ..code.loader import path_items
from ..exceptions import PipelineError, ScaleDownError
from ..tokens import encoding_name_for, get_counter
from ..types import PipelineMetrics, PipelineResult, StageRecord
from ._stages import Entry, Role, StageSpec, describe_stage

__all__ = ["Pipeline"]

logger = logging.getLogger(__name__)

DEFAULT_TARGET_MODEL = "gpt-4o"  # the default of every stage, so counts agree when none says otherwise
# Runs of the last stage with a smaller max_tokens when its output, counted in the pipeline's tokenizer,
# is over budget (the stage counts in another tokenizer); each run shrinks by the measured overshoot.
MAX_REFITS = 3


@dataclass(frozen=True)
class _RunArgs:
    """The validated arguments of one run."""

    query: str | None
    file_path: Any
    prompt: str | None
    context: str
    max_tokens: int | None
    options: dict[str, Any]
    """Extra keywords of the run, each for the stages that declare it (see ``_stages``)."""


class Pipeline:
    """Run optimizers, then compressors, in order; each stage reads the previous stage's output.

    ``steps`` is a list of ``(name, stage)`` pairs. A stage is an optimizer (``optimize``/``aoptimize``),
    a compressor (``compress``/``acompress``) or a plain callable ``str -> str`` (sync or async).

    Argument routing (a stage gets only what its method declares; nothing else reaches it):

    - the first stage reads ``file_path`` (an optimizer only) or else ``context``; every later stage
      gets the previous stage's output text as its context;
    - optimizers get ``query`` (falling back to ``prompt`` when no query is given) and ``max_tokens``;
    - compressors get ``prompt`` (falling back to ``query`` when no prompt is given) and ``max_tokens``;
    - callables get the text alone.

    ``max_tokens`` is the budget of the pipeline's output. It is given to every stage that takes it,
    so no stage produces more than the final budget (a code-aware optimizer chooses what fits rather
    than leaving a later compressor to cut), and the final output is checked against it: a pipeline
    whose last stage ignores the budget raises ``PipelineError`` instead of returning too much.

    Token figures (``history``, ``metrics``) are counted in ``target_model``'s tokenizer: by default
    the stages' common ``target_model`` (``gpt-4o`` if none declares one); stages whose models count
    with different tokenizers need an explicit ``target_model``.
    """

    def __init__(self, steps: Sequence[tuple[str, Any]], *, target_model: str | None = None) -> None:
        self._specs = _validate_steps(steps)
        self.target_model = _pipeline_model(self._specs, target_model)

    # ----------------------------------------------------------------- inspection

    @property
    def steps(self) -> list[tuple[str, Any]]:
        """The ``(name, stage)`` pairs, in order."""
        return [(spec.name, spec.stage) for spec in self._specs]

    @property
    def named_steps(self) -> dict[str, Any]:
        return {spec.name: spec.stage for spec in self._specs}

    def get_step(self, name: str) -> Any:
        """The stage called ``name``; ``KeyError`` if there is none."""
        for spec in self._specs:
            if spec.name == name:
                return spec.stage
        raise KeyError(f"no step named {name!r}; steps are {[s.name for s in self._specs]}")

    def __len__(self) -> int:
        return len(self._specs)

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        return iter(self.steps)

    def __repr__(self) -> str:
        parts = ", ".join(f"{s.name}={type(s.stage).__name__}" for s in self._specs)
        return f"Pipeline([{parts}], target_model={self.target_model!r})"

    # ----------------------------------------------------------------- running

    def run(
        self,
        query: str | None = None,
        file_path: Any = None,
        prompt: str | None = None,
        context: str = "",
        max_tokens: int | None = None,
        **options: Any,
    ) -> PipelineResult:
        """Run every stage in order and return the last output with one history record per stage.

        ``context`` is the source the first stage reads; given with ``file_path`` (one file), it is that
        file's text (an editor's unsaved buffer, say) and the file is not read. Any other keyword
        (``rate=0.3``, ``preserve_words=[...]``) goes to each stage that declares it as a keyword-only
        parameter, and is a ``TypeError`` naming it when no stage does.

        Raises ``ValueError``/``TypeError`` for bad arguments before any stage runs. A stage's own
        ``ScaleDownError`` (``AuthenticationError``, ``APIError``, ``OptimizerError``, ...) is raised as
        itself with ``stage`` set to the step's name; any other exception from a stage, and a stage's
        result the pipeline cannot use, is ``PipelineError`` (naming the stage, the cause chained).
        """
        args = self._prepare(query, file_path, prompt, context, max_tokens, options, use_async=False)
        run = _RunState(self, args)
        entry: Entry | None = None
        for index, spec in enumerate(self._specs):
            entry = spec.sync
            if entry is None:  # ruled out by _prepare; kept for type checkers
                raise TypeError(f"stage {spec.kind} is async; use 'await pipeline.arun(...)'")
            run.record(spec, index, *_call(spec, entry, _arguments(spec, entry, index, run.text, args)))
        while entry is not None and (budget := run.refit_budget(entry)) is not None:
            last, index = self._specs[-1], len(self._specs) - 1
            call = _arguments(last, entry, index, run.stage_input, replace(args, max_tokens=budget))
            run.record(last, index, *_call(last, entry, call), refit=True)
        return run.result()

    async def arun(
        self,
        query: str | None = None,
        file_path: Any = None,
        prompt: str | None = None,
        context: str = "",
        max_tokens: int | None = None,
        **options: Any,
    ) -> PipelineResult:
        """``run`` for async code: awaits each stage's ``aoptimize``/``acompress`` (or ``async def``
        callable) where it has one, and runs a sync-only stage in a worker thread."""
        args = self._prepare(query, file_path, prompt, context, max_tokens, options, use_async=True)
        run = _RunState(self, args)
        entry: Entry | None = None
        for index, spec in enumerate(self._specs):
            entry = spec.native_async or spec.sync
            if entry is None:  # describe_stage gives every stage one entry at least
                raise TypeError(f"stage {spec.kind} has no entry point")
            run.record(spec, index, *await _acall(spec, entry, _arguments(spec, entry, index, run.text, args)))
        while entry is not None and (budget := run.refit_budget(entry)) is not None:
            last, index = self._specs[-1], len(self._specs) - 1
            call = _arguments(last, entry, index, run.stage_input, replace(args, max_tokens=budget))
            run.record(last, index, *await _acall(last, entry, call), refit=True)
        return run.result()

    # ----------------------------------------------------------------- validation of one run

    def _prepare(
        self,
        query: Any,
        file_path: Any,
        prompt: Any,
        context: Any,
        max_tokens: Any,
        options: dict[str, Any],
        *,
        use_async: bool,
    ) -> _RunArgs:
        query = _optional_text("query", query)
        prompt = _optional_text("prompt", prompt)
        if not isinstance(context, str):
            raise TypeError(f"context must be a string; got {type(context).__name__}")
        if max_tokens is not None and (
            isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1
        ):
            raise ValueError(f"max_tokens must be a positive integer or None; got {max_tokens!r}")
        file_path = _check_file_path(file_path)
        entries = [_entry_for(spec, use_async) for spec in self._specs]  # refuses async callables in run()

        first = self._specs[0]
        if file_path is not None:
            if first.role is not Role.OPTIMIZER:
                raise ValueError(
                    f"file_path is read by the first stage, which must be an optimizer; "
                    f"stage {first.kind} is not. Pass the text as context instead"
                )
            if not entries[0].takes("file_path"):
                raise ValueError(f"stage {first.kind} does not take file_path; pass the text as context")
        if prompt is None and query is None and any(
            spec.role is Role.COMPRESSOR and entry.takes("prompt") for spec, entry in zip(self._specs, entries)
        ):
            raise ValueError("a compressor stage needs a prompt: pass prompt= (or query=, used as the prompt)")
        _check_options(options, self._specs, entries)
        return _RunArgs(query, file_path, prompt, context, max_tokens, dict(options))


# --------------------------------------------------------------------------- construction checks


def _validate_steps(steps: Any) -> list[StageSpec]:
    if isinstance(steps, (str, bytes)) or not isinstance(steps, Sequence):
        raise TypeError(
            f"steps must be a list of (name, stage) pairs; got {type(steps).__name__}. "
            "Example: Pipeline([('haste', HasteOptimizer()), ('compress', LocalCompressor())])"
        )
    if not steps:
        raise ValueError("a pipeline needs at least one step: a list of (name, stage) pairs")
    specs: list[StageSpec] = []
    seen: set[str] = set()
    for position, step in enumerate(steps):
        if not isinstance(step, tuple) or len(step) != 2:
            raise TypeError(
                f"step {position} must be a (name, stage) pair; got {type(step).__name__}. "
                "Name every step, e.g. ('haste', HasteOptimizer())"
            )
        spec = describe_stage(*step)
        if spec.name in seen:
            raise ValueError(f"step name {spec.name!r} is used twice; every step needs its own name")
        seen.add(spec.name)
        specs.append(spec)
    _check_order(specs)
    return specs


def _check_order(specs: list[StageSpec]) -> None:
    compressor: StageSpec | None = None
    for spec in specs:
        if spec.role is Role.COMPRESSOR and compressor is None:
            compressor = spec
        elif spec.role is Role.OPTIMIZER and compressor is not None:
            raise ValueError(
                f"optimizer {spec.name!r} comes after compressor {compressor.name!r}: an optimizer selects "
                "code and needs source that is still whole, so put optimizers before compressors"
            )


def _pipeline_model(specs: list[StageSpec], explicit: str | None) -> str:
    if explicit is not None:
        if not isinstance(explicit, str) or not explicit.strip():
            raise ValueError(f"target_model must be a non-empty model name such as 'gpt-4o'; got {explicit!r}")
        return explicit
    models = [(spec.name, spec.target_model) for spec in specs if spec.target_model]
    if not models:
        return DEFAULT_TARGET_MODEL
    encodings = {encoding_name_for(model) for _, model in models}
    if len(encodings) > 1:
        listed = ", ".join(f"{name}: {model}" for name, model in models)
        raise ValueError(
            f"the stages count tokens with different tokenizers ({listed}); pass target_model= to say "
            "which model the pipeline's budget and figures are in"
        )
    return models[-1][1]  # the model the final output is meant for


# --------------------------------------------------------------------------- one run


def _entry_for(spec: StageSpec, use_async: bool) -> Entry:
    """The entry point a run will call: the coroutine one under ``arun`` where there is one."""
    entry = (spec.native_async or spec.sync) if use_async else spec.sync
    if entry is None:
        raise TypeError(f"stage {spec.kind} is an async function; use 'await pipeline.arun(...)'")
    return entry


def _check_options(options: dict[str, Any], specs: list[StageSpec], entries: list[Entry]) -> None:
    """TypeError for an extra keyword of ``run`` that no stage declares (it would be lost)."""
    unknown = sorted(name for name in options if not any(name in entry.options for entry in entries))
    if unknown:
        declared = {spec.name: sorted(entry.options) for spec, entry in zip(specs, entries) if entry.options}
        listed = "; ".join(f"{name}: {', '.join(names)}" for name, names in declared.items()) or "none"
        raise TypeError(f"Pipeline.run() got keyword(s) {', '.join(map(repr, unknown))} that no stage takes "
                        f"(options the stages take: {listed})")


def _optional_text(name: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string or None; got {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"{name} must not be empty; leave it out (None) instead")
    return value


def _check_file_path(file_path: Any) -> Any:
    if file_path is None or file_path == "":
        return None
    if isinstance(file_path, (list, tuple)) and not file_path:
        raise ValueError("file_path is an empty list: no source to read")
    if not isinstance(file_path, (str, bytes, os.PathLike, list, tuple)):
        raise TypeError(f"file_path must be a path, a directory or a list of paths; got {type(file_path).__name__}")
    items = path_items(file_path)  # refuses bytes and empty entries, as the optimizers do
    return items if isinstance(file_path, (list, tuple)) else file_path


def _arguments(
    spec: StageSpec, entry: Entry, index: int, text: str, args: _RunArgs
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The positional and keyword arguments for one stage: its text plus the protocol arguments it takes."""
    offered: dict[str, Any] = {}
    if spec.role is Role.OPTIMIZER:
        query = args.query if args.query is not None else args.prompt
        if query is not None:
            offered["query"] = query
        if index == 0 and args.file_path is not None:
            offered["file_path"] = args.file_path
    elif spec.role is Role.COMPRESSOR:
        offered["prompt"] = args.prompt if args.prompt is not None else args.query
    if spec.role is not Role.CALLABLE and args.max_tokens is not None:
        offered["max_tokens"] = args.max_tokens
    kwargs = {name: value for name, value in offered.items() if entry.takes(name)}
    kwargs.update((name, value) for name, value in args.options.items() if name in entry.options)
    if entry.context_keyword:
        kwargs["context"] = text
        return (), kwargs
    return (text,), kwargs


def _call(spec: StageSpec, entry: Entry, call: tuple[tuple[Any, ...], dict[str, Any]]) -> tuple[Any, float]:
    """The stage's output and its latency in milliseconds; its failure as ``PipelineError``."""
    started = time.perf_counter()
    try:
        output = entry.call(*call[0], **call[1])
    except ScaleDownError as exc:
        _name_stage(spec, exc)
        raise
    except Exception as exc:
        raise _stage_failed(spec, exc) from exc
    return output, (time.perf_counter() - started) * 1000.0


async def _acall(spec: StageSpec, entry: Entry, call: tuple[tuple[Any, ...], dict[str, Any]]) -> tuple[Any, float]:
    """:func:`_call` for ``arun``: a coroutine entry is awaited, a sync one runs in a worker thread."""
    started = time.perf_counter()
    try:
        if spec.native_async is not None:
            output = await entry.call(*call[0], **call[1])
        else:
            output = await asyncio.to_thread(entry.call, *call[0], **call[1])
    except ScaleDownError as exc:
        _name_stage(spec, exc)
        raise
    except Exception as exc:
        raise _stage_failed(spec, exc) from exc
    return output, (time.perf_counter() - started) * 1000.0


def _name_stage(spec: StageSpec, exc: ScaleDownError) -> None:
    """Mark a stage's own error with the stage (attribute and message) so it can be raised as itself."""
    if exc.stage is not None:
        return
    exc.stage = spec.name
    if exc.args and isinstance(exc.args[0], str):
        exc.args = (f"stage {spec.kind}: {exc.args[0]}", *exc.args[1:])


def _stage_failed(spec: StageSpec, exc: Exception) -> PipelineError:
    return PipelineError(f"stage {spec.kind} failed: {type(exc).__name__}: {exc}", stage=spec.name)


def _content_of(spec: StageSpec, output: Any) -> tuple[str, Any]:
    """The text and metrics of a stage's result; ``PipelineError`` for a result of the wrong shape."""
    if isinstance(output, str):
        return output, None
    content = getattr(output, "content", None)
    if isinstance(content, str):
        return content, getattr(output, "metrics", None)
    if isinstance(output, list):
        problem = f"a list of {len(output)} results; a pipeline stage must return one result"
    else:
        problem = f"a {type(output).__name__}, not a string or a result with a .content string"
    raise PipelineError(f"stage {spec.kind} returned {problem}", stage=spec.name)


def _given_tokens(metrics: Any) -> int | None:
    """What a stage says it was given (for a first stage that read files the pipeline never saw)."""
    return _count_in(metrics, ("original_tokens", "original_prompt_tokens"))


def _returned_tokens(metrics: Any) -> int | None:
    """What a stage says its output is, in its own tokenizer."""
    return _count_in(metrics, ("optimized_tokens", "compressed_prompt_tokens"))


def _warnings_of(metrics: Any) -> list[str]:
    """A stage's warnings: an optimizer's ``metrics.warnings``, a compressor's ``metrics.extra["warnings"]``."""
    found = getattr(metrics, "warnings", None)
    if found is None:
        extra = getattr(metrics, "extra", None)
        found = extra.get("warnings") if isinstance(extra, dict) else None
    return [w for w in found if isinstance(w, str)] if isinstance(found, (list, tuple)) else []


def _count_in(metrics: Any, attributes: tuple[str, ...]) -> int | None:
    for attribute in attributes:
        value = getattr(metrics, attribute, None)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


class _RunState:
    """The text flowing through one run and the records collected so far."""

    def __init__(self, pipeline: Pipeline, args: _RunArgs) -> None:
        self._counter = get_counter(pipeline.target_model)
        self._model = pipeline.target_model
        self._args = args
        self._specs = pipeline._specs
        self._started = time.perf_counter()
        self.text = args.context
        self._text_tokens = self._counter.count(args.context)
        self._original_tokens = self._text_tokens
        self.stage_input = self.text
        self._input_tokens = self._text_tokens
        self._given = args.max_tokens
        self._refits = 0
        self._last_takes_budget = False
        self._own_tokens: int | None = None
        self._notes: list[str] = []  # the pipeline's own warnings
        self.history: list[StageRecord] = []
        self.results: list[Any] = []

    def record(self, spec: StageSpec, index: int, output: Any, latency_ms: float, *, refit: bool = False) -> None:
        """Take a stage's output; ``refit``: it replaces the last stage's previous, over-budget output."""
        content, metrics = _content_of(spec, output)
        if refit:
            latency_ms += self.history.pop().latency_ms
            self.results.pop()
        else:
            self.stage_input, self._input_tokens = self.text, self._text_tokens
        input_tokens = self._input_tokens
        if index == 0 and self._args.file_path is not None:
            # The stage read the files itself; only it knows how many tokens it was given.
            input_tokens = _given_tokens(metrics) or 0
            self._original_tokens = input_tokens
        output_tokens = self._counter.count(content)
        self._own_tokens = _returned_tokens(metrics)
        self.history.append(StageRecord(spec.name, input_tokens, output_tokens, latency_ms, metrics))
        self.results.append(output)
        self.text, self._text_tokens = content, output_tokens

    def refit_budget(self, entry: Entry) -> int | None:
        """A smaller ``max_tokens`` to run the last stage (``entry``) again with, when its output is over
        the budget in the pipeline's tokenizer and it may count in another; None: nothing to retry."""
        budget, last = self._args.max_tokens, self._specs[-1]
        self._last_takes_budget = last.role is not Role.CALLABLE and entry.takes("max_tokens")
        if budget is None or self._given is None or self._text_tokens <= budget or self._refits >= MAX_REFITS \
                or not self._last_takes_budget or not self._counts_apart(last):
            return None
        # the overshoot taken off the output as the stage counts it: a budget above that count changes nothing
        counted = min(self._given, self._own_tokens) if self._own_tokens is not None else self._given
        smaller = counted - (self._text_tokens - budget)
        if smaller < 1:
            return None
        note = (f"stage {last.kind} returned {self._text_tokens} {self._model} tokens, over max_tokens={budget}; "
                f"it was run again with max_tokens={smaller}")
        logger.warning(note)
        self._notes.append(f"{last.name}: {note}")
        self._refits += 1
        self._given = smaller
        return smaller

    def _counts_apart(self, stage: StageSpec) -> bool:
        """Whether ``stage`` may count tokens in another tokenizer than the pipeline's."""
        return stage.target_model is None or encoding_name_for(stage.target_model) != encoding_name_for(self._model)

    def result(self) -> PipelineResult:
        budget = self._args.max_tokens
        if budget is not None and self._text_tokens > budget:
            last = self._specs[-1]
            raise PipelineError(self._over_budget(last, budget), stage=last.name)
        metrics = PipelineMetrics(
            original_tokens=self._original_tokens,
            total_tokens=self._text_tokens,
            latency_ms=(time.perf_counter() - self._started) * 1000.0,
            warnings=[f"{record.stage}: {w}" for record in self.history for w in _warnings_of(record.metrics)]
            + self._notes,
        )
        return PipelineResult(self.text, metrics, history=self.history, stage_results=self.results)

    def _over_budget(self, last: StageSpec, budget: int) -> str:
        said = f"stage {last.kind} returned {self._text_tokens} tokens, over max_tokens={budget}"
        if not self._last_takes_budget:
            return f"{said}; end the pipeline with a stage that takes max_tokens"
        if not self._counts_apart(last):
            return f"{said}: it does not keep to the max_tokens it was given"
        again = f", even when run again with max_tokens={self._given}" if self._refits else ""
        return (f"{said} in the pipeline's tokenizer ({self._model}){again}: the stage counts tokens with "
                f"another tokenizer ({last.target_model or 'its own'}); give it target_model={self._model!r}")
