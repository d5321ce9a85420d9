"""`normalize_session_id` keeps the answers of the texts it saw (bounded), keyed by the raw text.

Only exact `str` values are kept: `1 == 1.0 == True` (and a str subclass may compare as it likes),
yet each names another session. Whatever was asked before, every answer is the uuid5 of the
stripped text (or the UUID itself).
"""

from __future__ import annotations

import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from honeyhive_otel import ids
from honeyhive_otel.ids import normalize_session_id


def reference(raw: object) -> tuple[str, str | None]:
    text = str(raw).strip()
    try:
        return str(uuid.UUID(text)), None
    except ValueError:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, text)), text


class LooseText(str):
    """A text equal to every other text, with one hash: must never be answered from another's entry."""

    def __eq__(self, other: object) -> bool:
        return True

    def __hash__(self) -> int:
        return 1


RAWS = st.one_of(st.sampled_from(["1", " 1 ", "1.0", "True", "a", " a", "", "  "]), st.integers(-2, 2),
                 st.booleans(), st.sampled_from([1.0, 0.0, -0.0]), st.text(max_size=6),
                 st.text(max_size=6).map(LooseText), st.just(str(uuid.UUID(int=5))))


@settings(max_examples=300, deadline=None)
@given(st.lists(RAWS, max_size=12))
def test_every_answer_is_the_uuid5_of_its_own_text_whatever_came_before(raws: list[object]) -> None:
    for raw in raws + raws[::-1]:
        assert normalize_session_id(raw) == reference(raw)


def test_equal_values_of_other_types_name_other_sessions() -> None:
    answers = [normalize_session_id(raw) for raw in ("1", 1, True, 1.0, "1", True)]
    assert answers == [reference(raw) for raw in ("1", 1, True, 1.0, "1", True)]
    assert len({answer[0] for answer in answers}) == 3  # "1" and 1 are the same text; True and 1.0 are not


def test_the_kept_answers_are_bounded_and_long_texts_are_not_kept() -> None:
    for index in range(ids._MAX_NORMALIZED + 50):
        assert normalize_session_id(f"session-{index}") == reference(f"session-{index}")
    assert len(ids._NORMALIZED) <= ids._MAX_NORMALIZED
    long_text = "x" * (ids._CACHED_SESSION_ID_CHARS + 1)
    assert normalize_session_id(long_text) == reference(long_text)
    assert long_text not in ids._NORMALIZED
