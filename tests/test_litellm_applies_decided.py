"""LiteLLM's `applies` reads the request decision the mapper already made, or makes it itself:
either way it answers as `scope == litellm or is_request_span` does, for every captured span.
"""

from __future__ import annotations

import glob
from pathlib import Path

from honeyhive_otel.mapping import litellm
from honeyhive_otel.mapping.attributes import SpanAttributes
from tests.support.spans import load_spans

FIXTURES = Path(__file__).parent / "fixtures" / "spans"


def test_applies_with_and_without_the_decision_made_first() -> None:
    answers = set()
    for path in sorted(glob.glob(str(FIXTURES / "*.json"))):
        for span in load_spans(path):
            in_scope = SpanAttributes(span.attributes).scope_name(span) == litellm.SCOPE
            expected = in_scope or litellm.is_request_span(SpanAttributes(span.attributes), span)
            undecided = SpanAttributes(span.attributes)
            decided = SpanAttributes(span.attributes)
            litellm.is_request_span(decided, span)
            assert litellm.applies(undecided, span) == litellm.applies(decided, span) == expected, path
            answers.add(expected)
    assert answers == {True, False}
