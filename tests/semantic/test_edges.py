"""SemanticOptimizer with the packaged model at the edges: unencodable text, budgets too small for any
unit, span order across files, and text rendered with file headers by an earlier stage."""

from __future__ import annotations

from pathlib import Path

import pytest

from scaledown_core.code import FILE_HEADER

pytestmark = pytest.mark.slow

CONFIG = '''def load_config(path):
    """Read the configuration file and return its settings as a dictionary of values."""
    with open(path) as fh:
        data = fh.read()
    settings = {}
    for line in data.splitlines():
        key, _, value = line.partition("=")
        settings[key.strip()] = value.strip()
    return settings
'''
RATES = {
    "billing/rates.py": 'def compute_rate(order):\n    """Rate for an order: base price plus tax."""\n'
                        '    return order.price * 1.2\n',
    "shipping/rates.py": 'def compute_rate(parcel):\n    """Rate for a parcel: weight times distance."""\n'
                         '    return parcel.weight * parcel.km * 0.01\n',
}


def test_lone_surrogates_in_query_and_context_are_refused(real_optimizer_factory) -> None:
    # an output holding one could not be encoded; the client, the server and every optimizer refuse it alike
    opt = real_optimizer_factory(model_name=None, top_k=2)
    for query, context in (("bad \udc80 byte in the config", CONFIG),
                           ("read the config", CONFIG + 'BAD = "bad \udc80 byte"\n')):
        with pytest.raises(ValueError, match="lone surrogate"):
            opt.optimize(query=query, context=context)


def test_an_empty_output_without_top_k_says_why(real_optimizer_factory) -> None:
    opt = real_optimizer_factory(model_name=None, top_k=None)
    result = opt.optimize(query="read configuration file", context=CONFIG, max_tokens=10)
    assert result.content == ""
    assert any("max_tokens=10" in w and "empty" in w for w in result.metrics.warnings)


def test_spans_follow_the_input_order_of_files(real_optimizer_factory, tmp_path: Path) -> None:
    first, second = tmp_path / "z_shipping.py", tmp_path / "a_billing.py"
    first.write_text(RATES["shipping/rates.py"])
    second.write_text(RATES["billing/rates.py"])
    opt = real_optimizer_factory(model_name=None, top_k=None)
    result = opt.optimize(query="how is the rate computed", file_path=[str(first), str(second)])
    assert [s.path for s in result.spans] == [str(first), str(second)]
    assert result.content.index("# file: " + str(first)) < result.content.index("# file: " + str(second))


def test_text_rendered_with_file_headers_keeps_its_files(real_optimizer_factory) -> None:
    rendered = "\n\n".join(FILE_HEADER.format(path=path) + "\n" + text.rstrip("\n") for path, text in RATES.items())
    opt = real_optimizer_factory(model_name=None, top_k=2)
    result = opt.optimize(query="how is the rate computed", context=rendered)
    assert [s.path for s in result.spans] == list(RATES)
    assert result.content == rendered
    assert result.metrics.extra["ranked_files"] and set(result.metrics.extra["ranked_files"]) == set(RATES)
