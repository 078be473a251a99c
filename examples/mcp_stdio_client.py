"""Start ``scaledown mcp`` over stdio and call its tools with the MCP SDK's client, as an editor would.

    python examples/mcp_stdio_client.py
"""

import shutil
import sys
from pathlib import Path

import anyio
from mcp import Client, StdioServerParameters

REPO = Path(__file__).resolve().parent.parent
SCALEDOWN = shutil.which("scaledown", path=str(Path(sys.executable).parent)) or "scaledown"


async def main() -> None:
    server = StdioServerParameters(command=SCALEDOWN, args=["mcp", "--root", str(REPO)], cwd=str(REPO))
    async with Client(server) as client:
        tools = await client.list_tools()
        print("tools:", ", ".join(tool.name for tool in tools.tools))

        async def progress(done: float, total: float | None, message: str | None) -> None:
            print(f"  progress {done:g}/{total if total is not None else '?'}: {message}")

        found = await client.call_tool(
            "select_code",
            {"query": "How is a Retry-After header turned into a delay?", "paths": ["scaledown_core/compressor"],
             "max_tokens": 600},
            progress_callback=progress,
        )
        result = found.structured_content
        print(f"select_code: {result['output_tokens']} of {result['original_tokens']} tokens")
        for span in result["spans"]:
            print(f"  {span['path']}:{span['start_line']}-{span['end_line']} {span['name']}")

        read = await client.call_tool("read_file_for", {"query": "which encoding does an unknown model use?",
                                                        "path": "scaledown_core/tokens.py", "max_tokens": 300})
        print(read.content[0].text)  # what the agent's model reads

        refused = await client.call_tool("read_file_for", {"query": "x", "path": "/etc/passwd"})
        print("outside the root:", refused.content[0].text)


anyio.run(main)
