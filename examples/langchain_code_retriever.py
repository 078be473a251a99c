"""Retrieve the code a question needs as LangChain Documents, and hand the retriever to an agent as a tool.

Runs offline: it searches ScaleDown's own source. Point ``paths`` at your repository instead.
"""

from pathlib import Path

import scaledown_core
from langchain_core.tools import create_retriever_tool

from langchain_scaledown import ScaleDownCodeRetriever

SOURCE = Path(scaledown_core.__file__).parent  # your repository: ScaleDownCodeRetriever(paths=["src/"])

retriever = ScaleDownCodeRetriever(paths=[str(SOURCE)], k=4, max_tokens=2000)

for doc in retriever.invoke("how is Retry-After honoured when the service answers 429?"):
    m = doc.metadata
    print(f"{m['relevance_score']:.3f}  {m['qualname']}  {m['source']}:{m['start_line']}-{m['end_line']}")

# fewer documents for one call
print(len(retriever.invoke("where is the API key read from the environment?", k=2)), "documents")

# as a tool for an agent (create_agent(model, tools=[search_code]))
search_code = create_retriever_tool(
    retriever, "search_code", "Find the functions and classes of the code base relevant to a question."
)
print(search_code.invoke({"query": "where is the API key read from the environment?"})[:400])
