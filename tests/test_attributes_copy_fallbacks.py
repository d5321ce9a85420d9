"""`SpanAttributes` copies an SDK span's attributes (a read-only proxy) through the proxied mapping's
own `copy()`, and reads anything else, or a proxy whose `copy()` fails or is not a dict, as a mapping.
A mapping that cannot be read at all gives no attributes; none of these raise.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

from honeyhive_otel.mapping.attributes import SpanAttributes


class FailingCopy(dict):  # type: ignore[type-arg]
    def copy(self) -> dict[str, Any]:
        raise RuntimeError("no copy")


class ListCopy(dict):  # type: ignore[type-arg]
    def copy(self) -> Any:
        return list(self.items())


class Unreadable(Mapping):  # type: ignore[type-arg]
    def __getitem__(self, key: str) -> Any:
        raise RuntimeError("no read")

    def __iter__(self) -> Iterator[str]:
        raise RuntimeError("no iteration")

    def __len__(self) -> int:
        return 1


def test_every_kind_of_attributes_mapping_is_read_or_left_empty() -> None:
    values = {"a": 1, "b": "x"}
    for attributes in (MappingProxyType(dict(values)), MappingProxyType(FailingCopy(values)),
                       MappingProxyType(ListCopy(values)), dict(values), FailingCopy(values)):
        view = SpanAttributes(attributes)
        assert type(view.raw) is dict and view.raw == values, type(attributes)
    for attributes in (None, Unreadable(), MappingProxyType(Unreadable())):
        assert SpanAttributes(attributes).raw == {}


def test_the_view_never_shares_the_span_dict() -> None:
    values = {"a": 1}
    proxy = MappingProxyType(values)
    view = SpanAttributes(proxy)
    view.raw["b"] = 2
    assert values == {"a": 1}
