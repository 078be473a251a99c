"""Your own stages in a pipeline: a plain function, an async function, and a hard budget with arun.

A stage is an optimizer (``optimize``), a compressor (``compress``) or any callable ``str -> str``.

    python examples/pipeline_custom_stages.py
"""

import asyncio
import re
from pathlib import Path

from scaledown_core import LocalCompressor, Pipeline
from scaledown_core.optimizer import HasteOptimizer

SOURCE = Path(__file__).resolve().parent.parent / "scaledown_core" / "pipeline" / "_pipeline.py"


def drop_comment_lines(text: str) -> str:
    """A plain function stage: str -> str."""
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


async def squeeze_blank_lines(text: str) -> str:
    """An async function stage; ``arun`` awaits it (``run`` asks you to use ``arun``)."""
    return re.sub(r"\n{3,}", "\n\n", text)


pipeline = Pipeline([
    ("select", HasteOptimizer()),
    ("no-comments", drop_comment_lines),
    ("squeeze", squeeze_blank_lines),
    ("compress", LocalCompressor(rate=0.5)),
])


async def main() -> None:
    # max_tokens goes to every stage that takes it, and the final output is checked against it.
    result = await pipeline.arun(
        query="how is a failing stage reported?",
        file_path=str(SOURCE),
        prompt="How does the pipeline report a stage that raised?",
        max_tokens=400,
    )
    for record in result.history:
        print(f"{record.stage:12} {record.input_tokens:5} -> {record.output_tokens:5} tokens  {record.latency_ms:7.1f} ms")
    print(f"total: {result.metrics.original_tokens} -> {result.metrics.total_tokens} tokens "
          f"({result.savings_percent:.1f}% saved)")
    print(result.final_content)


asyncio.run(main())
