"""Pipeline: chaining, argument routing, history, validation, failures and arun, with small real stages."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from scaledown_core.tokens import get_counter
from scaledown_core.types import (
    CompressedPrompt,
    CompressionMetrics,
    OptimizationMetrics,
    OptimizedContext,
)


def _keep_lines(text: str, words: str) -> str:
    wanted = {w.lower() for w in words.split()}
    return "\n".join(line for line in text.splitlines() if wanted & set(line.lower().split()))


class LineOptimizer:
    """Keeps the lines that share a word with the query; reads ``file_path`` when given."""

    def __init__(self, target_model: str = "gpt-4o") -> None:
        self.target_model = target_model
        self.calls: list[dict[str, Any]] = []

    def optimize(
        self, context: str = "", query: str = "", file_path: Any = None, max_tokens: int | None = None
    ) -> OptimizedContext:
        self.calls.append(
            {"context": context, "query": query, "file_path": file_path, "max_tokens": max_tokens,
             "thread": threading.get_ident()}
        )
        if not query:
            raise ValueError("query is required")
        if file_path is not None:
            paths = file_path if isinstance(file_path, list) else [file_path]
            context = "\n".join(Path(p).read_text() for p in paths)
        counter = get_counter(self.target_model)
        kept = _keep_lines(context, query)
        if max_tokens is not None:
            kept = counter.truncate(kept, max_tokens)
        metrics = OptimizationMetrics(
            original_tokens=counter.count(context), optimized_tokens=counter.count(kept),
            chunks_retrieved=kept.count("\n") + 1 if kept else 0, latency_ms=0.0, retrieval_mode="lines",
        )
        return OptimizedContext(kept, metrics)


class AsyncLineOptimizer(LineOptimizer):
    """``LineOptimizer`` with a native ``aoptimize``."""

    def __init__(self, target_model: str = "gpt-4o") -> None:
        super().__init__(target_model)
        self.async_calls = 0

    async def aoptimize(
        self, context: str = "", query: str = "", file_path: Any = None, max_tokens: int | None = None
    ) -> OptimizedContext:
        self.async_calls += 1
        await asyncio.sleep(0)
        return self.optimize(context, query=query, file_path=file_path, max_tokens=max_tokens)


class HalfCompressor:
    """Keeps the first half of the tokens (capped by ``max_tokens``); records its arguments."""

    def __init__(self, target_model: str = "gpt-4o") -> None:
        self.target_model = target_model
        self.calls: list[dict[str, Any]] = []
        self.async_calls = 0

    def compress(self, context: str, prompt: str, max_tokens: int | None = None) -> CompressedPrompt:
        self.calls.append({"context": context, "prompt": prompt, "max_tokens": max_tokens})
        counter = get_counter(self.target_model)
        original = counter.count(context)
        keep = original // 2
        if max_tokens is not None:
            keep = min(keep, max_tokens)
        out = counter.truncate(context, keep)
        metrics = CompressionMetrics(original, counter.count(out), 0.0, "half")
        return CompressedPrompt(out, metrics)

    async def acompress(self, context: str, prompt: str, max_tokens: int | None = None) -> CompressedPrompt:
        self.async_calls += 1
        await asyncio.sleep(0)
        return self.compress(context, prompt, max_tokens)


class KwargsOptimizer:
    """Takes ``**kwargs``: sees every protocol argument the pipeline routes to an optimizer."""

    target_model = "gpt-4o"

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []

    def optimize(self, context: str = "", **kwargs: Any) -> str:
        self.received.append(dict(kwargs))
        return context or "from files"


class KwargsCompressor:
    """Takes ``**kwargs``: sees every protocol argument the pipeline routes to a compressor."""

    target_model = "gpt-4o"

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []

    def compress(self, context: str, **kwargs: Any) -> str:
        self.received.append(dict(kwargs))
        return context


class FailingCompressor:
    target_model = "gpt-4o"

    def compress(self, context: str, prompt: str) -> CompressedPrompt:
        raise ConnectionError("service unreachable")


# =========================================================================== tests

import inspect as _inspect  # noqa: E402

import pytest  # noqa: E402

from scaledown_core import Pipeline, PipelineError, PipelineResult  # noqa: E402

QUERY = "retry backoff"
SOURCE = "\n".join(
    [
        "def connect(): open a socket",
        "def retry(): sleep with backoff then call again",
        "def parse(): read json",
        "backoff grows by doubling each retry attempt",
        "def close(): release the socket",
    ]
    * 5
)


@pytest.fixture
def source_file(tmp_path: Path) -> Path:
    path = tmp_path / "client.txt"
    path.write_text(SOURCE)
    return path


def tokens(text: str) -> int:
    return get_counter("gpt-4o").count(text)


# ----------------------------------------------------------------- chaining and history


def test_each_stage_consumes_the_previous_output(source_file: Path) -> None:
    opt, comp = LineOptimizer(), HalfCompressor()
    result = Pipeline([("lines", opt), ("half", comp)]).run(
        query=QUERY, file_path=str(source_file), prompt="Explain the retry"
    )
    selected = _keep_lines(SOURCE, QUERY)
    assert opt.calls[0]["context"] == ""  # the file, not context, was the source
    assert comp.calls[0]["context"] == selected
    assert result.final_content == result.content == str(result)
    assert result.final_content == get_counter("gpt-4o").truncate(selected, tokens(selected) // 2)
    assert isinstance(result, PipelineResult)
    assert [type(r).__name__ for r in result.stage_results] == ["OptimizedContext", "CompressedPrompt"]


def test_history_has_one_exact_record_per_stage(source_file: Path) -> None:
    opt, comp = LineOptimizer(), HalfCompressor()
    result = Pipeline([("lines", opt), ("half", comp)]).run(
        query=QUERY, file_path=str(source_file), prompt="Explain"
    )
    selected = _keep_lines(SOURCE, QUERY)
    assert [r.stage for r in result.history] == ["lines", "half"]
    first, second = result.history
    assert first.input_tokens == tokens(SOURCE)  # the file: only the optimizer saw it, it says how big
    assert first.output_tokens == tokens(selected) == second.input_tokens
    assert second.output_tokens == tokens(result.final_content)
    assert first.metrics is result.stage_results[0].metrics
    assert second.metrics.model_used == "half"
    assert all(r.latency_ms >= 0 for r in result.history)
    assert result.metrics.original_tokens == tokens(SOURCE)
    assert result.metrics.total_tokens == tokens(result.final_content)
    expected = 100 * (1 - result.metrics.total_tokens / result.metrics.original_tokens)
    assert result.savings_percent == pytest.approx(expected)
    assert result.savings_percent > 50


def test_original_tokens_counts_the_given_context() -> None:
    result = Pipeline([("lines", LineOptimizer())]).run(query=QUERY, context=SOURCE)
    assert result.metrics.original_tokens == tokens(SOURCE) == result.history[0].input_tokens


def test_plain_callables_are_stages() -> None:
    result = Pipeline([("upper", str.upper), ("first-line", lambda t: t.splitlines()[0])]).run(
        context="alpha beta\ngamma"
    )
    assert result.final_content == "ALPHA BETA"
    assert [r.output_tokens for r in result.history] == [tokens("ALPHA BETA\nGAMMA"), tokens("ALPHA BETA")]


def test_list_of_files_goes_to_the_first_stage_only(tmp_path: Path) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("retry here\nnothing")
    b.write_text("backoff there\nnothing")
    first, second = LineOptimizer(), KwargsOptimizer()
    result = Pipeline([("first", first), ("second", second)]).run(query=QUERY, file_path=[a, b])
    assert first.calls[0]["file_path"] == [a, b]
    assert "file_path" not in second.received[0]
    assert result.final_content == "retry here\nbackoff there"


# ----------------------------------------------------------------- argument routing


def test_only_protocol_arguments_reach_each_role(source_file: Path) -> None:
    opt1, opt2, comp = KwargsOptimizer(), KwargsOptimizer(), KwargsCompressor()
    Pipeline([("o1", opt1), ("o2", opt2), ("c", comp)]).run(
        query="q", file_path=str(source_file), prompt="p", max_tokens=500
    )
    assert opt1.received == [{"query": "q", "file_path": str(source_file), "max_tokens": 500}]
    assert opt2.received == [{"query": "q", "max_tokens": 500}]
    assert comp.received == [{"prompt": "p", "max_tokens": 500}]


def test_unset_arguments_are_not_passed() -> None:
    opt, comp = KwargsOptimizer(), KwargsCompressor()
    Pipeline([("o", opt), ("c", comp)]).run(prompt="p", context="text")
    assert opt.received == [{"query": "p"}]  # the prompt stands in for a missing query
    assert comp.received == [{"prompt": "p"}]


def test_prompt_defaults_to_the_query() -> None:
    comp = HalfCompressor()
    Pipeline([("c", comp)]).run(query="what retries?", context=SOURCE)
    assert comp.calls[0]["prompt"] == "what retries?"


def test_a_stage_gets_only_what_its_signature_declares() -> None:
    class NoBudget:
        target_model = "gpt-4o"

        def __init__(self) -> None:
            self.args: tuple[Any, ...] = ()

        def optimize(self, text: str, query: str) -> str:  # positional text, no max_tokens
            self.args = (text, query)
            return text[:5]

    stage = NoBudget()
    result = Pipeline([("nb", stage), ("c", HalfCompressor())]).run(query="q", context="abcdefgh", max_tokens=3)
    assert stage.args == ("abcdefgh", "q")
    assert result.history[0].output_tokens == tokens("abcde")
    assert tokens(result.final_content) <= 3


def test_max_tokens_is_given_to_every_stage_that_takes_it(source_file: Path) -> None:
    opt, comp = LineOptimizer(), HalfCompressor()
    result = Pipeline([("lines", opt), ("half", comp)]).run(
        query=QUERY, file_path=str(source_file), prompt="p", max_tokens=20
    )
    assert opt.calls[0]["max_tokens"] == comp.calls[0]["max_tokens"] == 20
    assert result.history[0].output_tokens <= 20
    assert result.metrics.total_tokens <= 20


def test_a_last_stage_that_breaks_the_budget_raises() -> None:
    pipe = Pipeline([("lines", LineOptimizer()), ("pad", lambda t: t + " and more words" * 50)])
    with pytest.raises(PipelineError, match=r"'pad'.*over max_tokens=10") as info:
        pipe.run(query=QUERY, context=SOURCE, max_tokens=10)
    assert info.value.stage == "pad"


# ----------------------------------------------------------------- construction checks


@pytest.mark.parametrize(
    ("steps", "error", "message"),
    [
        ([], ValueError, "at least one step"),
        ("haste", TypeError, "list of \\(name, stage\\) pairs"),
        ([LineOptimizer()], TypeError, "step 0 must be a \\(name, stage\\) pair"),
        ([("a", LineOptimizer()), ("a", HalfCompressor())], ValueError, "'a' is used twice"),
        ([("", LineOptimizer())], ValueError, "non-empty string name"),
        ([("x", 42)], TypeError, "'x' is a int, which is neither an optimizer"),
        ([("x", LineOptimizer)], TypeError, "the class LineOptimizer \\(pass an instance\\)"),
        ([("c", HalfCompressor()), ("o", LineOptimizer())], ValueError, "optimizer 'o' comes after compressor 'c'"),
    ],
)
def test_bad_steps_are_refused_at_construction(steps: Any, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        Pipeline(steps)


def test_a_stage_with_both_roles_is_ambiguous() -> None:
    class Both:
        def optimize(self, context: str) -> str:
            return context

        def compress(self, context: str, prompt: str) -> str:
            return context

    with pytest.raises(TypeError, match="ambiguous"):
        Pipeline([("both", Both())])


def test_callables_may_follow_compressors() -> None:
    pipe = Pipeline([("c", HalfCompressor()), ("strip", str.strip)])
    assert pipe.run(prompt="p", context="  spaced out words here  ").final_content == "spaced out"


def test_stage_tokenizers_must_agree_unless_target_model_is_given() -> None:
    steps = [("o", LineOptimizer("gpt-4")), ("c", HalfCompressor("gpt-4o"))]
    with pytest.raises(ValueError, match="different tokenizers.*o: gpt-4, c: gpt-4o"):
        Pipeline(steps)
    assert Pipeline(steps, target_model="gpt-4o").target_model == "gpt-4o"
    assert Pipeline([("o", LineOptimizer("gpt-4o-mini")), ("c", HalfCompressor("gpt-4o"))]).target_model == "gpt-4o"
    assert Pipeline([("f", str.strip)]).target_model == "gpt-4o"


def test_inspection_helpers() -> None:
    opt = LineOptimizer()
    pipe = Pipeline([("lines", opt), ("upper", str.upper)])
    assert pipe.get_step("lines") is opt
    assert pipe.named_steps == {"lines": opt, "upper": str.upper}
    assert pipe.steps == list(pipe) == [("lines", opt), ("upper", str.upper)]
    assert len(pipe) == 2
    assert "lines=LineOptimizer" in repr(pipe)
    with pytest.raises(KeyError, match="no step named 'nope'"):
        pipe.get_step("nope")


# ----------------------------------------------------------------- run arguments


def test_file_path_needs_an_optimizer_first() -> None:
    with pytest.raises(ValueError, match="must be an optimizer"):
        Pipeline([("c", HalfCompressor())]).run(prompt="p", file_path="x.py")


def test_file_path_needs_a_stage_that_takes_it() -> None:
    class TextOnly:
        def optimize(self, context: str, query: str) -> str:
            return context

    with pytest.raises(ValueError, match="does not take file_path"):
        Pipeline([("t", TextOnly())]).run(query="q", file_path="x.py")


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"query": "q", "context": "text", "max_tokens": 0}, ValueError, "positive integer"),
        ({"query": "q", "context": "text", "max_tokens": True}, ValueError, "positive integer"),
        ({"query": "  ", "context": "text"}, ValueError, "query must not be empty"),
        ({"query": 3, "context": "text"}, TypeError, "query must be a string"),
        ({"query": "q", "context": b"bytes"}, TypeError, "context must be a string"),
        ({"query": "q", "file_path": []}, ValueError, "empty list"),
        ({"query": "q", "file_path": 7}, TypeError, "file_path must be a path"),
    ],
)
def test_bad_run_arguments_fail_before_any_stage(kwargs: dict[str, Any], error: type, message: str) -> None:
    opt = LineOptimizer()
    with pytest.raises(error, match=message):
        Pipeline([("o", opt)]).run(**kwargs)
    assert opt.calls == []


def test_a_compressor_needs_a_prompt_or_query() -> None:
    comp = HalfCompressor()
    with pytest.raises(ValueError, match="needs a prompt"):
        Pipeline([("c", comp)]).run(context="text")
    assert comp.calls == []


# ----------------------------------------------------------------- failures


def test_a_failing_stage_raises_pipeline_error_naming_it() -> None:
    opt = LineOptimizer()
    pipe = Pipeline([("lines", opt), ("remote", FailingCompressor())])
    with pytest.raises(PipelineError) as info:
        pipe.run(query=QUERY, prompt="p", context=SOURCE)
    err = info.value
    assert err.stage == "remote"
    assert "'remote' (FailingCompressor, compressor) failed: ConnectionError: service unreachable" in str(err)
    assert isinstance(err.__cause__, ConnectionError)
    assert len(opt.calls) == 1


def test_a_stage_error_from_misuse_is_chained_too() -> None:
    with pytest.raises(PipelineError, match="'lines'.*ValueError: query is required") as info:
        Pipeline([("lines", LineOptimizer())]).run(context="text")  # no query: the stage refuses
    assert isinstance(info.value.__cause__, ValueError)


@pytest.mark.parametrize(
    ("output", "message"),
    [(["a", "b"], "a list of 2 results"), (42, "a int, not a string"), (None, "a NoneType")],
)
def test_a_stage_returning_the_wrong_shape_is_named(output: Any, message: str) -> None:
    with pytest.raises(PipelineError, match=f"'bad'.*returned {message}") as info:
        Pipeline([("bad", lambda _t: output)]).run(context="text")
    assert info.value.stage == "bad"


def test_an_async_callable_needs_arun() -> None:
    async def shout(text: str) -> str:
        return text.upper()

    with pytest.raises(TypeError, match="use 'await pipeline.arun"):
        Pipeline([("shout", shout)]).run(context="x")


# ----------------------------------------------------------------- arun


async def test_arun_awaits_native_async_methods(source_file: Path) -> None:
    opt, comp = AsyncLineOptimizer(), HalfCompressor()
    pipe = Pipeline([("lines", opt), ("half", comp)])
    result = await pipe.arun(query=QUERY, file_path=str(source_file), prompt="p", max_tokens=30)
    assert opt.async_calls == 1 and comp.async_calls == 1
    sync_result = pipe.run(query=QUERY, file_path=str(source_file), prompt="p", max_tokens=30)
    assert result.final_content == sync_result.final_content
    assert [r.output_tokens for r in result.history] == [r.output_tokens for r in sync_result.history]
    assert opt.calls[0]["thread"] == threading.get_ident()  # awaited on the loop, not in a worker


async def test_arun_runs_sync_only_stages_in_a_thread() -> None:
    opt = LineOptimizer()
    result = await Pipeline([("lines", opt)]).arun(query=QUERY, context=SOURCE)
    assert opt.calls[0]["thread"] != threading.get_ident()
    assert result.final_content == _keep_lines(SOURCE, QUERY)


async def test_arun_awaits_async_callables_and_wraps_failures() -> None:
    async def shout(text: str) -> str:
        await asyncio.sleep(0)
        return text.upper()

    async def broken(text: str) -> str:
        raise RuntimeError("boom")

    assert (await Pipeline([("shout", shout)]).arun(context="hi")).final_content == "HI"
    with pytest.raises(PipelineError, match="'broken'.*RuntimeError: boom") as info:
        await Pipeline([("shout", shout), ("broken", broken)]).arun(context="hi")
    assert isinstance(info.value.__cause__, RuntimeError)
    assert _inspect.iscoroutinefunction(Pipeline.arun)


def test_a_compressor_that_takes_no_prompt_needs_none() -> None:
    class Truncate:
        def compress(self, context: str, max_tokens: int | None = None) -> str:
            return context[:4]

    assert Pipeline([("t", Truncate())]).run(context="abcdefgh").final_content == "abcd"


# ----------------------------------------------------------------- stages counting in another tokenizer

# Each line is a few tokens more in gpt-4o's tokenizer (o200k) than in gpt-4's (cl100k).
BRACES = "\n".join(["retry backoff }}}}}}}} }}}}}}}}"] * 40)


def test_braces_count_apart_in_the_two_tokenizers() -> None:
    assert tokens(BRACES) > get_counter("gpt-4").count(BRACES) * 1.2  # what the tests below rely on


@pytest.mark.parametrize("budget", [30, 64, 100])
def test_a_last_stage_counting_in_another_tokenizer_is_run_again_to_fit(budget: int) -> None:
    opt = LineOptimizer(target_model="gpt-4")
    result = Pipeline([("lines", opt)], target_model="gpt-4o").run(query=QUERY, context=BRACES, max_tokens=budget)
    assert 0 < result.metrics.total_tokens == tokens(result.final_content) <= budget
    given = [call["max_tokens"] for call in opt.calls]
    assert given[0] == budget and len(given) > 1 and given == sorted(given, reverse=True)
    [record] = result.history  # the run again replaces the over-budget record
    assert record.output_tokens == result.metrics.total_tokens and record.input_tokens == tokens(BRACES)
    assert result.stage_results[0].content == result.final_content
    assert sum("was run again with max_tokens" in w for w in result.metrics.warnings) == len(given) - 1


async def test_arun_runs_the_last_stage_again_too() -> None:
    opt = AsyncLineOptimizer(target_model="gpt-4")
    pipe = Pipeline([("first", lambda text: text.replace("retry", "Retry")), ("lines", opt)], target_model="gpt-4o")
    result = await pipe.arun(query=QUERY, context=BRACES, max_tokens=64)
    assert result.metrics.total_tokens <= 64 and opt.async_calls > 1
    first, last = result.history
    assert last.input_tokens == first.output_tokens


def test_a_stage_in_another_tokenizer_that_cannot_fit_names_the_mismatch() -> None:
    class Stubborn(LineOptimizer):
        """Takes max_tokens but never goes below 30 of its own tokens."""

        def optimize(self, context: str = "", query: str = "", file_path: Any = None,
                     max_tokens: int | None = None) -> OptimizedContext:
            return super().optimize(context, query, file_path, max(max_tokens or 0, 30))

    stage = Stubborn(target_model="gpt-4")
    with pytest.raises(PipelineError, match=r"'lines'.*over max_tokens=30.*another tokenizer \(gpt-4\)") as info:
        Pipeline([("lines", stage)], target_model="gpt-4o").run(query=QUERY, context=BRACES, max_tokens=30)
    assert info.value.stage == "lines" and 1 < len(stage.calls) <= 4


# ----------------------------------------------------------------- file_path entries


@pytest.mark.parametrize(
    ("file_path", "error", "message"),
    [([""], ValueError, "is empty"), (["  "], ValueError, "is empty"), (b"x.py", TypeError, "not bytes"),
     ([b"x.py"], TypeError, "not bytes")],
)
def test_empty_and_bytes_file_paths_fail_before_any_stage(file_path: Any, error: type, message: str) -> None:
    opt = LineOptimizer()
    with pytest.raises(error, match=message):
        Pipeline([("o", opt)]).run(query="q", file_path=file_path)
    assert opt.calls == []


# ----------------------------------------------------------------- a stage's own errors, extra keywords


class KeylessCompressor:
    """Fails as a compressor without an API key does."""

    target_model = "gpt-4o"

    def compress(self, context: str, prompt: str) -> str:
        from scaledown_core.exceptions import AuthenticationError

        raise AuthenticationError("no ScaleDown API key")

    async def acompress(self, context: str, prompt: str) -> str:
        return self.compress(context, prompt)


@pytest.mark.parametrize("use_async", [False, True])
def test_a_stages_own_scaledown_error_is_raised_as_itself_naming_the_stage(use_async: bool) -> None:
    from scaledown_core.exceptions import AuthenticationError

    pipe = Pipeline([("lines", LineOptimizer()), ("remote", KeylessCompressor())])
    with pytest.raises(AuthenticationError) as info:
        if use_async:
            asyncio.run(pipe.arun(query=QUERY, prompt="p", context=SOURCE))
        else:
            pipe.run(query=QUERY, prompt="p", context=SOURCE)
    assert not isinstance(info.value, PipelineError)
    assert info.value.stage == "remote"
    assert str(info.value) == "stage 'remote' (KeylessCompressor, compressor): no ScaleDown API key"


class OptionsCompressor(HalfCompressor):
    """Declares per-call options as keyword-only parameters, as the real compressors do."""

    def compress(self, context: str, prompt: str, max_tokens: int | None = None, *,
                 rate: float | None = None, context_path: str | None = None) -> CompressedPrompt:
        self.options = {"rate": rate, "context_path": context_path}
        return super().compress(context, prompt, max_tokens)


def test_extra_keywords_reach_only_the_stages_declaring_them() -> None:
    first, last = KwargsOptimizer(), OptionsCompressor()
    Pipeline([("k", first), ("o", last)]).run(query=QUERY, prompt="p", context=SOURCE, rate=0.3)
    assert "rate" not in first.received[0]  # **kwargs declares no option by name
    assert last.options["rate"] == 0.3
    assert last.options["context_path"] is None  # the pipeline's own keywords are never options

    with pytest.raises(TypeError, match=r"'temperature'.*no stage takes.*o: rate"):
        Pipeline([("k", KwargsOptimizer()), ("o", OptionsCompressor())]).run(context=SOURCE, prompt="p", temperature=1)
    with pytest.raises(TypeError, match="'context_path'"):
        Pipeline([("o", OptionsCompressor())]).run(context=SOURCE, prompt="p", context_path="a.py")
