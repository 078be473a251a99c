"""Argument and result schemas of the agent tools: one home for the MCP server, the LangChain tools and
the LlamaIndex tool spec.

The argument types (``Query``, ``Paths``, ...) carry their JSON-schema constraints and descriptions, so a
tool signature written with them publishes the same schema on every surface. Needs pydantic, which every
agent extra (``mcp``, ``langchain``, ``llamaindex``) installs.
"""

from __future__ import annotations

from typing import Annotated, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "DEFAULT_READ_TOKENS",
    "DEFAULT_SELECT_TOKENS",
    "MAX_BUDGET",
    "MAX_PATHS",
    "CompressTextInput",
    "CompressTextResult",
    "IndexRepositoryInput",
    "IndexResult",
    "ReadFileForInput",
    "ReadFileResult",
    "SelectCodeInput",
    "SelectCodeResult",
    "Span",
    "Context",
    "FilePath",
    "IndexPath",
    "Language",
    "MaxTokens",
    "OptionalMaxTokens",
    "Paths",
    "Prompt",
    "Query",
    "Rate",
    "ReadMaxTokens",
]

MAX_BUDGET = 1_000_000  # beyond any model's window: a larger number is a mistake, not a budget
MAX_PATHS = 256  # paths of one select_code call; a folder counts once however many files it holds
DEFAULT_SELECT_TOKENS = 2_000  # room for a handful of functions with their class lines
DEFAULT_READ_TOKENS = 1_500  # a file's relevant part: less than a whole mid-sized module

Query = Annotated[str, Field(
    min_length=1, description="What the code or text is needed for: the task, question or issue text "
    "(names, tracebacks and error messages in it help).")]
Paths = Annotated[list[str], Field(
    min_length=1, max_length=MAX_PATHS, description="Files or folders to select from (every Python file "
    "below a folder), relative to the server's root or absolute inside it.")]
IndexPath = Annotated[str, Field(
    min_length=1, description="The folder to index, relative to the server's root or absolute inside it.")]
FilePath = Annotated[str, Field(
    min_length=1, description="One file, relative to the server's root or absolute inside it. Python "
    "source is cut to the relevant functions and classes; other text to the relevant passages.")]
MaxTokens = Annotated[int, Field(
    ge=1, le=MAX_BUDGET, description="Hard limit on the returned code, in tokens of the target model.")]
ReadMaxTokens = Annotated[int, Field(
    ge=1, le=MAX_BUDGET, description="Hard limit on the returned part of the file, in tokens of the "
    "target model.")]
Language = Annotated[Optional[str], Field(
    description="Source language; only 'python' is supported today. Leave it out to take every "
    "supported file.")]
Context = Annotated[str, Field(description="The long text to compress: a document, a log, a tool output.")]
Prompt = Annotated[str, Field(
    min_length=1, description="The question or task the compressed text must still answer.")]
OptionalMaxTokens = Annotated[Optional[int], Field(
    ge=1, le=MAX_BUDGET, description="Hard ceiling on the output, in tokens of the target model.")]
Rate = Annotated[Optional[float], Field(
    gt=0, le=1, description="Fraction of the text's tokens to keep, in (0, 1]. Leave it out to keep what "
    "scores as relevant (10 to 50 percent).")]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SelectCodeInput(_Input):
    """Arguments of ``select_code``."""

    query: Query
    paths: Paths
    max_tokens: MaxTokens = DEFAULT_SELECT_TOKENS
    language: Language = None


class CompressTextInput(_Input):
    """Arguments of ``compress_text``."""

    context: Context
    prompt: Prompt
    max_tokens: OptionalMaxTokens = None
    rate: Rate = None


class ReadFileForInput(_Input):
    """Arguments of ``read_file_for``."""

    query: Query
    path: FilePath
    max_tokens: ReadMaxTokens = DEFAULT_READ_TOKENS


class IndexRepositoryInput(BaseModel):
    """Arguments of ``index_repository``."""

    model_config = ConfigDict(extra="forbid")

    path: IndexPath


class _Result(BaseModel):
    """A tool result: ``for_model()`` (also ``str()``) is the text an agent's model reads."""

    def _what(self) -> str:  # pragma: no cover - every result names itself
        raise NotImplementedError

    def for_model(self) -> str:
        """The kept code or text, then one line of figures and a line per warning."""
        figures = (f"[scaledown: {self._what()}; {getattr(self, 'output_tokens')} of "
                   f"{getattr(self, 'original_tokens')} tokens ({getattr(self, 'target_model')})]")
        notes = "".join(f"\n[warning: {w}]" for w in getattr(self, "warnings"))
        text: str = getattr(self, "content").rstrip()
        return f"{text}\n{figures}{notes}" if text.strip() else f"{figures}{notes}"

    def __str__(self) -> str:
        return self.for_model()


class Span(BaseModel):
    """One kept piece of code."""

    path: str = Field(description="The file, relative to the server's root (absolute when outside the first root).")
    start_line: int = Field(description="First line shown, 1-based.")
    end_line: int = Field(description="Last line shown, inclusive.")
    name: str = Field(description="Qualified name of the unit (Class.method), or an import line's name.")
    kind: str = Field(description="function, method, class (its header), module (a module-level block).")
    score: float = Field(description="Relevance to the query; higher is better.")
    partial: bool = Field(description="True when only part of the unit is shown (the rest is '# ...').")
    tokens: int = Field(description="Tokens of the shown lines of this unit.")


class SelectCodeResult(_Result):
    """What ``select_code`` returns."""

    content: str = Field(description="The kept code in source order; '# ...' marks code taken out; "
                         "'# file: <path>' opens each file when there are several.")
    spans: list[Span] = Field(description="The kept units in source order.")
    files: list[str] = Field(description="The files the kept code comes from, most relevant first.")
    original_tokens: int = Field(description="Tokens of all the source read.")
    output_tokens: int = Field(description="Tokens of content; never more than max_tokens.")
    max_tokens: int
    savings_percent: float
    target_model: str = Field(description="The model whose tokenizer counted the tokens.")
    warnings: list[str]

    def _what(self) -> str:
        return f"{len(self.spans)} units from {len(self.files)} files"


class CompressTextResult(_Result):
    """What ``compress_text`` returns."""

    content: str = Field(description="The kept passages in their order; '…' marks text taken out.")
    original_tokens: int
    output_tokens: int
    rate: Optional[float] = Field(description="The fraction of tokens kept that was aimed at.")
    engine: Literal["local", "api"] = Field(description="local: the in-process compressor; api: the hosted service.")
    model_used: str
    savings_percent: float
    target_model: str
    warnings: list[str]

    def _what(self) -> str:
        return f"{self.engine} engine"


class ReadFileResult(_Result):
    """What ``read_file_for`` returns."""

    path: str = Field(description="The file, relative to the server's root (absolute when outside the first root).")
    content: str = Field(description="The part of the file the query needs ('# ...' or '…' marks what was "
                         "taken out), or the whole file when it fits.")
    method: Literal["whole", "code", "text"] = Field(
        description="whole: the file fitted; code: Python cut to its relevant units; text: passages kept.")
    spans: list[Span] = Field(description="For code: the kept units in source order.")
    original_tokens: int
    output_tokens: int
    max_tokens: int
    savings_percent: float
    target_model: str
    warnings: list[str]

    def _what(self) -> str:
        return f"{self.path}, {self.method}"


class IndexResult(BaseModel):
    """What ``index_repository`` returns: the index of a folder, as it stands after the update."""

    path: str = Field(description="The folder, relative to the server's root.")
    files: int = Field(description="Python files the index holds.")
    units: int = Field(description="Functions, methods, class headers and module blocks stored.")
    tokens: int = Field(description="Tokens of every indexed file, in the target model's tokenizer.")
    new: int
    changed: int
    deleted: int
    unchanged: int = Field(description="Files not read again: their size and mtime had not changed.")
    skipped: int = Field(description="Files that could not be read or parsed (see warnings).")
    seconds: float
    target_model: str
    warnings: list[str]

    def for_model(self) -> str:
        """One line of figures and a line per warning."""
        notes = "".join(f"\n[warning: {w}]" for w in self.warnings)
        return (f"[scaledown: indexed {self.path}: {self.files} files, {self.units} units, {self.tokens} tokens "
                f"({self.target_model}); {self.new} new, {self.changed} changed, {self.deleted} deleted, "
                f"{self.unchanged} unchanged, in {self.seconds:.1f} s]{notes}")

    def __str__(self) -> str:
        return self.for_model()
