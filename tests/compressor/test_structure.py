"""LocalCompressor keeps the structure of what it cuts: code too large for the budget, fences, tables,
nested lists, numbers inside cut sentences, form feeds in source, wrapped prose, a byte-order mark."""

from __future__ import annotations

import json
import re
import textwrap

from scaledown_core import LocalCompressor
from scaledown_core.compressor.segment import segment
from scaledown_core.tokens import count_tokens


def _warnings(result) -> list[str]:  # type: ignore[no-untyped-def]
    return result.metrics.extra["warnings"]


JS = "function process(records) {\n" + "\n".join(
    f"  const value_{i} = records[{i}] * {i};" for i in range(60)) + "\n  return value_42;\n}\n"


def test_code_larger_than_the_budget_is_kept_in_part_not_dropped() -> None:
    result = LocalCompressor(rate=0.2).compress(JS, "How is value_42 computed?")
    assert "const value_42 = records[42] * 42;" in result.content
    assert result.metrics.compressed_prompt_tokens <= 0.2 * count_tokens(JS)
    assert any("parts of it are kept" in w for w in _warnings(result))


def test_fenced_code_keeps_both_fences() -> None:
    context = ("Setup notes for the service are below. Read them carefully before deploying anything.\n\n"
               "```python\nimport os\nPORT = 8080\nTIMEOUT = 30\nRETRIES = 5\n```\n\n"
               "The deployment uses Kubernetes. Logs are shipped to Elasticsearch. Alerts go to PagerDuty.\n")
    for rate in (0.2, 0.3, 0.35, 0.5):
        out = LocalCompressor(rate=rate).compress(context, "What is the PORT and where do alerts go?").content
        fences = [line for line in out.splitlines() if line.startswith("```")]
        assert len(fences) % 2 == 0, (rate, out)
    out = LocalCompressor(rate=0.3).compress(context, "What is the PORT?").content
    assert out.startswith("```python\n") and "PORT = 8080" in out and out.endswith("```")


def test_a_table_under_a_heading_keeps_its_column_names_and_separator() -> None:
    rows = "\n".join(f"| item{i} | {i * 7} | note number {i} here |" for i in range(40))
    context = "## Prices\n\n| Name | Price | Note |\n|:--|--:|:-:|\n" + rows
    out = LocalCompressor(rate=0.5).compress(context, "What is the price of item37?", max_tokens=40).content
    assert "| Name | Price | Note |\n|:--|--:|:-:|" in out
    assert "| item37 | 259 | note number 37 here |" in out


def test_a_nested_list_item_keeps_its_indentation_and_its_parent() -> None:
    context = ("- Fruits\n  - Apple: red, sweet\n  - Banana: yellow\n- Vegetables\n"
               "  - Carrot: orange, crunchy, grows underground\n  - Leek: green\n- Grains\n  - Rice: white\n"
               "  - Oats: for porridge in the morning")
    out = LocalCompressor(rate=0.3).compress(context, "What colour is a carrot?").content
    assert "- Vegetables\n  - Carrot: orange" in out


def test_a_cut_sentence_never_splits_a_number() -> None:
    context = ("After many years of careful and repeated measurement and several audits by outside firms, the "
               "total revenue was $1,234,567 in the final annual report, and the constant was 3.14159 exactly.")
    compressor = LocalCompressor(rate=1.0)
    for budget in range(3, 24):
        out = compressor.compress(context, "What was the total revenue and the constant?", max_tokens=budget).content
        for number in re.findall(r"\$?\d(?:[\d.,]*\d)?", out):
            assert number in ("$1,234,567", "3.14159"), (budget, out)


def test_a_form_feed_in_python_source_does_not_shift_the_units() -> None:
    source = ("import os\n\x0c\n# Section two\n\n\ndef alpha(x):\n    return x + 1\n\n\n"
              "def beta(y):\n    total = 0\n    for i in range(y):\n        total += i\n    return total\n\n\n"
              "def gamma(z):\n    return z * 3\n")
    out = LocalCompressor(rate=0.99).compress(source, "What does gamma return?").content
    assert "def gamma(z):\n    return z * 3" in out
    seg = segment(source)
    assert {seg.labels[i]: seg.unit_text(i).splitlines()[0] for i in seg.labels} == {
        "alpha": "def alpha(x):", "beta": "def beta(y):", "gamma": "def gamma(z):"}


def test_hard_wrapped_prose_is_cut_into_sentences_not_lines() -> None:
    paragraph = ("The board met on Tuesday to review the quarterly results of the company and its subsidiaries. "
                 "The board approved a dividend of forty cents per share, payable on the first of July to "
                 "holders of record in June. Revenue rose by eight percent.")
    context = textwrap.fill(paragraph, 60)
    seg = segment(context)
    texts = [" ".join(seg.unit_text(i).split()) for i in range(len(seg.units))]
    assert [u.kind for u in seg.units] == ["sentence"] * 3
    assert texts[1] == ("The board approved a dividend of forty cents per share, payable on the first of July to "
                        "holders of record in June.")


def test_separate_short_lines_stay_separate_units() -> None:
    seg = segment("Shipping address\nAlice Smith\n12 High Street\nSpringfield\n")
    assert len(seg.units) == 4


def test_a_byte_order_mark_before_json_keeps_the_output_valid_json() -> None:
    data = json.dumps([{"id": i, "name": f"user{i}"} for i in range(30)], indent=2)
    out = LocalCompressor(rate=0.3).compress("\ufeff" + data, "What is the name of id 6?").content
    assert {"id": 6, "name": "user6"} in json.loads(out)


def test_a_label_with_a_colon_after_its_title_is_the_documents_header() -> None:
    seg = segment("Document [1](Title: Scott Derrickson): Scott Derrickson is an American director. "
                  "He lives in Los Angeles.")
    header = seg.blocks[0].header
    assert header is not None and seg.unit_text(header) == "Document [1](Title: Scott Derrickson):"


def test_an_empty_output_is_always_explained() -> None:
    result = LocalCompressor(rate=0.1).compress("Paris is the capital.", "capital?")
    assert result.content == ""
    assert any("holds no part of the context" in w for w in _warnings(result))


def test_a_switch_must_be_a_boolean() -> None:
    import pytest

    from scaledown_core import ScaleDownCompressor

    for kwargs in ({"preserve_keywords": "no"}, {"include_prompt": 1}, {"embeddings": "false"}):
        with pytest.raises(TypeError, match="must be True or False"):
            LocalCompressor(**kwargs)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="preserve_keywords"):
        ScaleDownCompressor(api_key="k", preserve_keywords="no")  # type: ignore[arg-type]


def test_lines_of_settings_and_commands_stay_whole_units() -> None:
    config = ("Database settings\nhost: db.internal.example.com\nport: 5432\nuser: app_reader\npool_size: 20\n"
              "timeout: 30s\nretries: 5")
    assert "pool_size: 20" in LocalCompressor(rate=0.5).compress(config, "What is the pool_size?").content
    logs = "\n".join(f'level=info ts=2024-01-0{i % 9 + 1} msg="request served" path=/api/v{i} status=200 '
                     f"duration={i * 3}ms" for i in range(12))
    assert len(segment(logs).units) == 12


BODY = "\n".join(f"x{i} = compute({i})" for i in range(12))


def test_fences_stay_balanced_without_blank_lines_around_them() -> None:
    contexts = [f"Configure the server as shown:\n```python\n{BODY}\n```",
                f"## Setup\n```python\n{BODY}\n```",
                f"```python\n{BODY}\n```\nThat is all for the setup.",
                "~~~markdown\nUse fences like:\n```\ncode\n~~~\n\nx7 is computed by the compute helper.",
                "```python\r" + BODY.replace("\n", "\r") + "\r```\r\rThe tail paragraph. More text."]
    for context in contexts:
        for rate in (0.05, 0.1, 0.2, 0.3, 0.5):
            out = LocalCompressor(rate=rate).compress(context, "What is x7?").content
            backticks = [ln for ln in re.split(r"[\r\n]", out) if ln.strip().startswith("```")]
            tildes = [ln for ln in re.split(r"[\r\n]", out) if ln.strip().startswith("~~~")]
            assert len(tildes) % 2 == 0 and (tildes or len(backticks) % 2 == 0), (context, rate, out)


def test_the_best_unit_is_shown_alone_when_it_cannot_fit_with_its_parent() -> None:
    steps = ("1. Install\n   Run the installer.\n   - On Linux use apt\n   - On Mac use brew install widget\n"
             "2. Configure\n   - Set PORT to 9090\n10. Finish")
    result = LocalCompressor(rate=0.3).compress(steps, "What PORT?", max_tokens=10)
    assert "Set PORT to 9090" in result.content
    assert any("shown alone" in w for w in _warnings(result))


def test_every_piece_of_a_nested_item_comes_with_its_parent() -> None:
    context = ("- Fruits\n  - Apple: red, sweet\n  - Banana: yellow\n- Vegetables\n"
               "  - Carrot: a root vegetable that is usually orange in colour, though purple, black, red, white "
               "and yellow cultivars exist; it is crunchy, it grows underground, and its storage temperature "
               "should be 4 degrees\n  - Leek: green\n- Grains\n  - Rice: white\n")
    out = LocalCompressor(rate=0.5).compress(context, "What storage temperature for carrots?", max_tokens=15).content
    assert "storage temperature" in out and out.startswith("- Vegetables")


def test_text_without_spaces_is_never_cut_inside_a_number() -> None:
    text = ("2023年度の報告書によると当社の年間売上高は合計で1,234,567,890円に達しており円周率の近似値は"
            "3.14159265として計算されていますその他の詳細は別紙を参照してください")
    for budget in range(6, 30, 2):
        out = LocalCompressor(rate=0.9).compress(text, "売上高はいくらですか", max_tokens=budget).content
        for number in re.findall(r"\d(?:[\d.,]*\d)?", out):
            assert number in ("2023", "1,234,567,890", "3.14159265"), (budget, out)


def test_a_blank_context_says_why_the_output_is_empty() -> None:
    result = LocalCompressor(rate=0.5).compress("   \n\n", "what?")
    assert any("empty or blank" in w for w in _warnings(result))


def test_code_from_several_files_keeps_each_files_header(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from scaledown_core.optimizer import HasteOptimizer

    for folder, k in (("billing", 3), ("shipping", 5)):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "rates.py").write_text(
            f'import math\n\n\ndef compute_rate(weight):\n    """The {folder} rate."""\n'
            f"    base = math.ceil(weight) * {k}\n    return base + {k}\n\n\ndef unrelated_{folder}():\n"
            "    return None\n")
    selected = HasteOptimizer().optimize(query="how is the rate computed", file_path=str(tmp_path),
                                         max_tokens=300).content
    seg = segment(selected)
    assert [seg.unit_text(b.header) for b in seg.blocks if b.header is not None] == [
        "# file: billing/rates.py", "# file: shipping/rates.py"]
    for rate in (0.4, 0.6, 0.9):
        out = LocalCompressor(rate=rate).compress(selected, "how is the rate computed").content
        for section in re.split(r"\n…\n(?=# file: )", out):
            assert section.startswith("# file: "), (rate, out)


def test_json_where_no_member_fits_is_still_valid_json() -> None:
    data = json.dumps({"records": [{"id": i, "payload": "x" * 40} for i in range(20)]}, indent=2)
    result = LocalCompressor(rate=0.5).compress(data, "Which record has id 7?", max_tokens=3)
    assert json.loads(result.content) == {}
    assert any("empty JSON object" in w for w in _warnings(result))
    assert LocalCompressor(rate=0.5).compress(data, "Which record has id 7?", max_tokens=1).content in ("", "{}")


def test_json_lines_stay_json_lines() -> None:
    records = [{"id": i, "name": f"user{i}", "city": "Rome" if i % 3 == 0 else "Paris"} for i in range(40)]
    for lines, rate in ((records, 0.3), (records[:3], 0.5)):  # 3 lines: not read as JSON after a preamble
        context = "\n".join(json.dumps(r) for r in lines)
        out = LocalCompressor(rate=rate).compress(context, "Which users live in Rome?").content
        kept = [json.loads(line) for line in out.splitlines()]
        assert kept and all(r in lines for r in kept) and any(r["city"] == "Rome" for r in kept)


def test_a_tight_budget_keeps_part_of_the_best_item_not_its_parent_alone() -> None:
    context = "- item one\n  - nested refund rule: 45 days\n- item two\n"
    result = LocalCompressor().compress(context, "How many days is the refund window?", max_tokens=6)
    assert "45 days" in result.content


def test_runs_of_sentence_marks_split_as_before_and_long_runs_stay_linear() -> None:
    # a run of marks ends a sentence from its first mark; a long run with no space after it once made
    # each failed match rescan the rest of the run (40 KB: 11 s)
    from scaledown_core.compressor.segment import split_sentences

    text = "Wow!!! It works?! Yes... Again。。次へ"
    assert [text[a:b] for a, b in split_sentences(text)] == ["Wow!!!", "It works?!", "Yes...", "Again。。", "次へ"]
    for run in ("." * 40_000 + "x. Next one.", "!?" * 20_000 + "x", "。" * 40_000 + "x", "," * 40_000 + "x"):
        result = LocalCompressor(rate=0.1).compress(run, "What comes next?")
        assert result.metrics.compressed_prompt_tokens <= 0.1 * result.metrics.original_prompt_tokens
        assert result.content and all(part.strip() in run for part in result.content.split("…"))


def test_a_table_separator_is_a_line_of_dashes_colons_bars_and_spaces() -> None:
    from scaledown_core.compressor.segment import _is_table_separator

    assert _is_table_separator("|:---|---:| --- |") and _is_table_separator(" - | - ")
    assert not _is_table_separator("| :: | || |") and not _is_table_separator("|---x|")
    assert not _is_table_separator("|" + "-" * 40_000 + "x|")  # no backtracking between runs: linear
