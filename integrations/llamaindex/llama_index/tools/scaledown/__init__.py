"""ScaleDown's agent operations as a LlamaIndex tool spec: ``ScaleDownToolSpec(root=...).to_tool_list()``."""

from llama_index.tools.scaledown.base import ScaleDownToolSpec

__all__ = ["ScaleDownToolSpec"]
