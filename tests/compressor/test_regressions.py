"""Regressions reported by users of LocalCompressor: verb forms, instruction words that are asked
about, and code ranked by the same identifier-aware scoring as prose."""

from __future__ import annotations

import textwrap

import pytest

from scaledown_core import LocalCompressor
from scaledown_core.tokens import count_tokens

HUBBLE = "\n\n".join([
    "Edwin Hubble\nEdwin Hubble was an American astronomer who showed that galaxies lie beyond the Milky "
    "Way. He was born in Marshfield, Missouri, in 1889. Hubble studied law at Oxford as a Rhodes "
    "Scholar. He worked at the Mount Wilson Observatory for most of his career. Hubble died on "
    "September 28, 1953, in San Marino, California. The Hubble Space Telescope is named after him.",
    "Mount Wilson Observatory\nThe observatory sits on Mount Wilson in the San Gabriel Mountains. Its "
    "100-inch Hooker telescope was the largest in the world from 1917 to 1949. Edwin Hubble used it for "
    "his measurements of galaxies. The site is open to visitors on weekends.",
    "Space telescopes\nA space telescope works above the atmosphere. Hubble, launched in 1990, was the "
    "first large optical one. Its mirror is 2.4 metres across. Servicing missions repaired it five times.",
])


def test_a_past_tense_verb_meets_its_base_form() -> None:
    r = LocalCompressor(rate=0.2).compress(HUBBLE, "When did Hubble die?")
    assert "Hubble died on September 28, 1953" in r.content


def test_an_instruction_word_is_a_search_word_when_the_question_asks_it() -> None:
    context = (
        "Pi\nPi is a mathematical constant. It is the ratio of a circle's circumference to its diameter. "
        "It appears in many formulae across mathematics and physics. Its value is approximately 3.14159. "
        "It is an irrational number. The symbol was popularised by Leonhard Euler. "
        "Pi Day is celebrated on March 14 in many countries. Schoolchildren often memorise its digits."
    )
    r = LocalCompressor(rate=0.3).compress(context, "Answer the question.\nQuestion: What is its value?")
    assert "Its value is approximately 3.14159." in r.content


def test_an_instruction_line_still_weighs_little() -> None:
    data = "JSON data:\n{\n" + ",\n".join(f'  "k{i:03d}": "value {i}"' for i in range(80)) + "\n}"
    r = LocalCompressor(rate=0.1).compress(
        data, 'Extract the value corresponding to the specified key in the JSON object above.\nKey: "k042"')
    assert '"k042": "value 42"' in r.content


SHOP = textwrap.dedent('''\
    """Shopping cart and payments."""

    from __future__ import annotations

    import random
    import time

    MAX_QUANTITY = 99
    RETRYABLE_STATUS = {429, 502, 503, 504}
    BASE_DELAY_SECONDS = 0.5


    def format_sku(sku: str) -> str:
        """Upper-case a stock keeping unit."""
        return sku.strip().upper()


    def is_gift_card(sku: str) -> bool:
        """Gift cards start with GC-."""
        return sku.startswith("GC-")


    class Cart:
        """The items a customer is about to buy."""

        def __init__(self) -> None:
            self.items: list[str] = []

        def add(self, sku: str) -> None:
            """Add one item."""
            self.items.append(format_sku(sku))

        def clear(self) -> None:
            """Empty the cart."""
            self.items = []


    class PaymentDeclined(Exception):
        """The card issuer refused the charge."""


    class GatewayClient:
        """A thin client of the payment gateway's HTTP API."""

        def __init__(self, session, api_url: str, max_attempts: int = 4) -> None:
            self.session = session
            self.api_url = api_url
            self.max_attempts = max_attempts

        def charge(self, card_token: str, amount_cents: int) -> str:
            """Charge ``amount_cents`` to the card; return the gateway's transaction id."""
            for attempt in range(self.max_attempts):
                response = self.session.post(
                    f"{self.api_url}/charges", json={"card": card_token, "amount": amount_cents}
                )
                if response.status_code == 402:
                    raise PaymentDeclined(response.json()["reason"])
                if response.status_code not in RETRYABLE_STATUS:
                    response.raise_for_status()
                    return response.json()["transaction_id"]
                time.sleep(backoff_delay(attempt))
            raise RuntimeError("payment gateway unavailable after retries")

        def refund(self, transaction_id: str) -> None:
            """Refund a previous charge in full."""
            self.session.post(f"{self.api_url}/refunds", json={"transaction": transaction_id})


    def backoff_delay(attempt: int) -> float:
        """Seconds to wait before retry number ``attempt``: exponential with full jitter."""
        return random.uniform(0, BASE_DELAY_SECONDS * 2**attempt)


    def loyalty_points(total_cents: int) -> int:
        """One point per whole dollar."""
        return total_cents // 100
    ''')


def test_code_keeps_the_named_method_its_class_and_what_it_calls() -> None:
    r = LocalCompressor().compress(SHOP, "How long does GatewayClient.charge wait between retries?")
    out = r.content
    assert "    def charge(self, card_token: str, amount_cents: int) -> str:" in out  # indentation kept
    assert "class GatewayClient:" in out  # a method comes with its class header
    assert "def backoff_delay(attempt: int) -> float:" in out  # called by the best unit
    for unrelated in ("def is_gift_card", "def loyalty_points", "def clear"):
        assert unrelated not in out
    assert count_tokens(out) < count_tokens(SHOP)


def test_kept_code_units_are_verbatim_source_lines() -> None:
    r = LocalCompressor(rate=0.5).compress(SHOP, "how does the client wait between retries of a charge")
    source_lines = set(SHOP.splitlines())
    for line in r.content.splitlines():
        assert line in source_lines or line == "…"
    assert "def charge" in r.content


def _lexical_scores(seg, prompt: str) -> list[float]:  # type: ignore[no-untyped-def]
    """LocalCompressor's unit scores of ``seg`` for ``prompt``, without embeddings."""
    from scaledown_core.compressor import local

    return local._Scorer(seg, local._build_query(prompt, []), preserve_keywords=False, embed_scores=None).scores()


def test_the_lead_sentence_of_a_prose_document_is_preferred() -> None:
    # two documents, each with one sentence naming "ferry": the first document's lead and the second's
    # third sentence match alike, and the lead wins by the lead prior (answers sit in lead sentences)
    from scaledown_core.compressor import local
    from scaledown_core.compressor.segment import segment

    context = (
        "Harbour\nThe ferry leaves at noon. Gulls circle the pier. Nets dry in the sun.\n\n"
        "Island\nSheep graze on the hills. A lighthouse stands on the cape. The ferry leaves at noon."
    )
    seg = segment(context)
    scores = _lexical_scores(seg, "When does the ferry leave?")
    ferry = [i for i in range(len(seg.units)) if "ferry" in seg.unit_text(i)]
    lead, later = ferry
    assert seg.units[lead].position == 1 and seg.units[later].position == 3
    order_gap = local.ORDER_PRIOR * (1 / len(seg.blocks))
    assert abs(scores[lead] - scores[later] - local.LEAD_PRIOR - order_gap) < 1e-9
    assert local.LEAD_PRIOR > local.FIRST_UNIT_PRIOR


def test_a_passage_cut_mid_sentence_has_no_lead_sentence() -> None:
    # a retrieved chunk that begins inside a sentence: its first unit is a tail, not a lead
    from scaledown_core.compressor import local
    from scaledown_core.compressor.segment import segment

    context = (
        "Harbour\nthe ferry leaves at noon. Gulls circle the pier.\n\n"
        "Island\nThe ferry leaves at noon. Sheep graze on the hills."
    )
    seg = segment(context)
    scores = _lexical_scores(seg, "When does the ferry leave?")
    tail, lead = [i for i in range(len(seg.units)) if "ferry" in seg.unit_text(i)]
    assert seg.units[tail].position == seg.units[lead].position == 1
    order_gap = local.ORDER_PRIOR * (1 / len(seg.blocks))
    assert abs(scores[lead] - scores[tail] - local.LEAD_PRIOR + order_gap) < 1e-9


def test_the_sentence_after_the_best_one_continues_its_subject() -> None:
    # the answer follows the definition of what is asked about and shares no word with the question
    # but "the", while ten other documents say "medals"
    from scaledown_core import LocalCompressor
    from scaledown_core.compressor import local
    from scaledown_core.compressor.segment import segment

    fillers = "\n\n".join(
        f"Winter festival {n}\nThe winter festival of town {n} awards medals to skaters every year. "
        f"Its skating rink opens in December and closes in March." for n in range(10))
    context = ("1924 Winter Olympics\nThe 1924 Winter Olympics were a multi-sport event held in Chamonix, "
               "France, from 25 January to 5 February 1924. Norway topped the table with seventeen in total. "
               "Finland came second. The games were later recognised as the first Winter Olympics.\n\n" + fillers)
    question = "Who won the most medals at the 1924 Winter Olympics?"
    seg = segment(context)
    scores = _lexical_scores(seg, question)
    best = max(range(len(seg.units)), key=scores.__getitem__)
    assert seg.unit_text(best).startswith("The 1924 Winter Olympics were")
    assert seg.unit_text(best + 1).startswith("Norway topped")
    assert scores[best + 1] >= local.CONTINUATION_SHARE * scores[best] - 1e-9
    # only the best sentence's successor: the one after it keeps its own score
    assert scores[best + 2] < local.CONTINUATION_SHARE * scores[best]

    result = LocalCompressor(rate=0.2).compress(context, question)
    assert "Norway topped the table with seventeen in total." in result.content
    assert result.metrics.compressed_prompt_tokens <= 0.2 * result.metrics.original_prompt_tokens


def test_a_sentence_cut_into_pieces_gets_no_continuation_of_its_best_piece() -> None:
    # a budget that holds no whole sentence: the piece after the best piece is a fragment of the same
    # sentence, and raising it pushed out the piece that answers
    from scaledown_core import LocalCompressor

    context = ("Norway won the most medals at the 1924 Winter Olympics, which were held in the alpine town of "
               "Chamonix, France. Tourists enjoy cheese fondue in the valley restaurants every evening of the season.")
    question = "Which country won the most medals at the 1924 Winter Olympics in Chamonix?"
    for max_tokens in (13, 14, 15, 16, 17):
        result = LocalCompressor(rate=1.0).compress(context, question, max_tokens=max_tokens)
        assert "Norway won the most medals" in result.content
        assert result.metrics.compressed_prompt_tokens <= max_tokens


def test_a_quoted_phrase_matches_with_an_ampersand_for_and() -> None:
    # "Tunnels and Trolls" in the prompt is the game the context writes "Tunnels & Trolls"
    from scaledown_core.compressor import local
    from scaledown_core.compressor.segment import segment

    context = "Dungeon Crawl is an adventure for Tunnels or Trolls. Arena Khazan is an adventure for Tunnels & Trolls."
    seg = segment(context)
    prompt = 'Which adventure is for "Tunnels and Trolls"?'
    assert "Tunnels and Trolls" in local._build_query(prompt, []).exact
    scores = _lexical_scores(seg, prompt)
    assert scores[1] - scores[0] > local.EXACT_WEIGHT * 0.5
    _, pattern = local._exact_pattern("Tunnels and Trolls")
    assert pattern.search("tunnels  AND trolls") and not pattern.search("Tunnels or Trolls")
    assert pattern.search("Tunnels &amp; Trolls")  # escaped HTML


def test_a_quoted_phrase_is_pre_tested_by_all_its_fixed_words() -> None:
    # the regex runs only on units holding every word (a prompt of 3,000 phrases sharing "alpha" took
    # 2.7 s on a 53 KB context when only the longest word was pre-tested; 0.8 s now)
    from scaledown_core.compressor import local

    assert local._exact_pattern("alpha and xyz & abc")[0] == ("alpha", "xyz", "abc")
    assert local._exact_pattern("Big  Stone Gap")[0] == ("big", "stone", "gap")
    assert local._exact_pattern("and and")[0] == ("and", "and")
    assert local._exact_pattern("Москва")[0] == ()  # case rules differ: always searched


def test_question_form_words_weigh_like_instructions() -> None:
    # "how many" asks for a count: a sentence that says "many" is not the answer
    from scaledown_core.compressor import local

    query = local._build_query("How many people can the Colisee seat?", [])
    assert query.weights["many"] == local.INSTRUCTION_WEIGHT
    assert query.weights["colise"] == query.weights["peopl"] == 1.0


def test_at_low_rates_the_best_documents_title_is_shown_only_when_it_is_an_alias() -> None:
    # below TITLES_MIN_RATE titles go, but "Henry J. Kaiser" names the subject as the text does not
    from scaledown_core import LocalCompressor

    fillers = "\n\n".join(
        f"Town {n}\nTown {n} is a small place on a river with a mill, a school and a church. "
        f"Its market opens on Fridays and sells fish, bread and apples from nearby farms." for n in range(12))
    question = "Which industrialist became known as the father of modern American shipbuilding?"
    for title, kept in (("Henry J. Kaiser", True), ("Henry John Kaiser", False)):
        context = (f"{title}\nHenry John Kaiser was an American industrialist who became known as the father "
                   f"of modern American shipbuilding.\n\n{fillers}")
        result = LocalCompressor(rate=0.1).compress(context, question)
        assert "Henry John Kaiser was an American industrialist" in result.content
        assert (f"{title}\n" in result.content) is kept
        assert result.metrics.compressed_prompt_tokens <= 0.1 * result.metrics.original_prompt_tokens


def test_a_markdown_heading_the_text_repeats_is_no_alias_title() -> None:
    from scaledown_core.compressor import local
    from scaledown_core.compressor.segment import segment

    fillers = "\n\n".join(f"## Town {n}\nTown {n} has a mill, a school and a church by the river." for n in range(12))
    for heading, alias in (("## Setup", False), ("## Getting started", True)):
        seg = segment(f"{heading}\nRun the setup script once to install the ferry schedule.\n\n{fillers}")
        scores = _lexical_scores(seg, "How do I install the ferry schedule?")
        costs = [len(seg.unit_text(i).split()) for i in range(len(seg.units))]
        assert (local._alias_title(seg, scores, costs) == {0}) is alias


def test_untitled_paragraphs_get_no_lead_bonus_over_the_answer() -> None:
    # paragraphs of one handbook page: the answer is the second sentence of its paragraph, and a tight
    # budget must not go to the paragraph's opening sentence just for being first
    from scaledown_core import LocalCompressor

    context = (
        '# Billing and refunds'
        "\n\n"
        'Northwind Cloud bills every workspace once a month on the day the workspace was created. '
        'Invoices are sent by email to the billing contact and can also be downloaded from the '
        'Billing page as PDF files. Prices are shown in US dollars; customers in the European Union'
        ' see VAT added at checkout according to their country of residence.'
        "\n\n"
        'Monthly plans can be cancelled at any time and stay active until the end of the paid '
        'period. Monthly plans are never refunded, not even in part, because usage is billed in '
        'advance for the whole month.'
        "\n\n"
        'Annual plans are paid up front for twelve months at a discount of 18 percent compared with'
        ' monthly billing. Customers on an annual plan may request a full refund within 45 days of '
        'the purchase date by writing to billing@northwind.example; after 45 days the annual plan '
        'can only be cancelled at its renewal date. Refunds are paid back to the original card '
        'within 10 business days.'
        "\n\n"
        'Failed payments are retried three times over nine days. When the last retry fails, the '
        'workspace is switched to read-only mode until the balance is settled, and the owner '
        'receives a reminder every three days. Data is never deleted because of a failed payment.'
        "\n\n"
        'Enterprise contracts are invoiced quarterly and paid by bank transfer within 30 days of '
        'the invoice date. Purchase order numbers can be added to invoices from the Billing page '
        'before the invoice is issued.'
    )
    prompt = "How many days do customers on an annual plan have to request a refund?"
    result = LocalCompressor().compress(context, prompt, max_tokens=55)
    assert "within 45 days of the purchase date" in result.content


def test_a_sentence_repeated_across_passages_is_kept_once() -> None:
    # overlapping retrieved passages repeat a sentence word for word: one copy is kept and the
    # budget the others would take goes to other sentences
    from scaledown_core import LocalCompressor

    shared = "With his victory at the 2018 Winter Olympics, Hanyu won a second straight title."
    context = "\n\n".join(
        [f"Document [{i}](Title: Hanyu {i}) {shared} The arena seats 12,000 people. Tickets sold out early."
         for i in (1, 2, 3)]
        + ["Document [4](Title: Olympic venues) The 2018 Winter Olympics were held in "
           "Pyeongchang, South Korea, in February 2018."]
    )
    prompt = "Answer the question using the documents above.\nQuestion: Hanyu won at the 2018 Winter Olympics held where?"
    result = LocalCompressor(rate=0.6).compress(context, prompt)
    assert result.content.count(shared) == 1
    assert "Pyeongchang, South Korea" in result.content
    assert result.metrics.compressed_prompt_tokens <= 0.6 * result.metrics.original_prompt_tokens


MULTI_HOP = "\n\n".join([
    "Kiss and Tell (1945 film)\nKiss and Tell is a 1945 American comedy film starring Shirley Temple as "
    "Corliss Archer. In the film, two teenage girls cause their parents much concern when they start to "
    "become interested in boys. The film was based on the play Kiss and Tell by F. Hugh Herbert. The "
    "woman who portrayed Corliss Archer on stage was Joan Caulfield.",
    "A Kiss for Corliss\nA Kiss for Corliss was retitled Almost a Bride before release. It was directed "
    "by Richard Wallace.",
    "Shirley Temple\nShirley Temple Black was an American actress who served as United States ambassador "
    "to Ghana. She began her film career at the age of three.",
    "Meet Corliss Archer\nMeet Corliss Archer is an American radio sitcom. It was adapted for television "
    "in 1951 and 1954.",
])


def test_a_second_relevant_document_comes_before_a_third_sentence_of_the_first() -> None:
    # a multi-hop question: the first document names the bridge (Shirley Temple), the second answers
    question = "What government position was held by the woman who portrayed Corliss Archer in the film Kiss and Tell?"
    out = LocalCompressor(rate=0.45).compress(MULTI_HOP, question).content
    assert "starring Shirley Temple as Corliss Archer" in out
    assert "served as United States ambassador to Ghana" in out


DERRICKSON = "\n\n".join([
    "Scott Derrickson\nScott Derrickson (born July 16, 1966) is an American director. He lives in Los "
    "Angeles, California. He directed Doctor Strange in 2016.",
    "Ed Wood (film)\nEd Wood is a 1994 American biographical film directed by Tim Burton. It stars Johnny "
    "Depp as the cult filmmaker.",
    "Bananas\nBananas are elongated fruit. Most bananas are yellow when ripe.",
])


def test_a_title_is_never_kept_without_a_sentence_of_its_document() -> None:
    documents = [d.split("\n", 1) for d in DERRICKSON.split("\n\n")]
    for rate in (0.35, 0.4, 0.44, 0.5):
        out = LocalCompressor(rate=rate).compress(DERRICKSON, "Where does Scott Derrickson live?").content
        for title, body in documents:
            if title in out.splitlines():
                sentences = [s.strip() for s in body.replace(". ", ".\n").splitlines()]
                assert any(s in out for s in sentences), (rate, title, out)


def test_an_earlier_stages_elision_line_is_never_kept_alone() -> None:
    # HasteOptimizer output marks what it left out with "# ..." lines; they say nothing on their own
    selected = "def tabbed(a):\n\tif a:\n\t\treturn 1\n\treturn 2\n# ..."
    for rate in (0.2, 0.3, 0.5):
        result = LocalCompressor(rate=rate).compress(selected, "tabbed")
        kept = [line.strip() for line in result.content.splitlines() if line.strip()]
        assert not kept or any(line not in ("# ...", "…") for line in kept), (rate, result.content)


@pytest.mark.parametrize("depth", [600, 3000])
def test_json_nested_deeper_than_python_reads_is_not_an_error(depth: int) -> None:
    context = "JSON data: " + "[" * depth + "1" + "]" * depth
    result = LocalCompressor(rate=0.5).compress(context, "what is inside?")
    assert result.metrics.compressed_prompt_tokens <= 0.5 * count_tokens(context)
