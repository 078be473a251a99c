"""Compress retrieved documents in-process before they reach the LLM (offline, no API key)."""

from scaledown_core import LocalCompressor

documents = "\n\n".join([
    "Scott Derrickson\nScott Derrickson (born July 16, 1966) is an American director. "
    "He lives in Los Angeles, California. He directed Doctor Strange in 2016.",
    "Ed Wood (film)\nEd Wood is a 1994 American biographical film directed by Tim Burton. "
    "It stars Johnny Depp as the cult filmmaker.",
    "Bananas\nBananas are elongated fruit. Most bananas are yellow when ripe.",
])
question = "Where does Scott Derrickson live?"

compressor = LocalCompressor(target_model="gpt-4o", rate=0.4)
result = compressor.compress(documents, question)

print(result.content)          # the compressed context: put it before your prompt
result.print_stats()           # tokens: 84 -> 33 (ratio 2.55x ...)
assert "Los Angeles" in result.content

# rate="auto" keeps what scores as relevant (10%-50%) and reports the rate it chose
auto = LocalCompressor().compress(documents, question)
print(f"auto chose rate {auto.metrics.rate}")

# batches: list + str broadcasts the prompt, list + list pairs them; results keep input order
batch = compressor.compress([documents, documents], [question, "Who directed Ed Wood?"])
print([len(r.content) for r in batch])
