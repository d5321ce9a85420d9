"""OTLP/JSON as the Collector's file exporter and OTLP/HTTP JSON senders write it, made from SDK spans.

The Python SDK has no OTLP/JSON exporter, so this encodes with the official protobuf encoder
(`opentelemetry-exporter-otlp-proto-common`) and protobuf's JSON mapping, then applies the two
OTLP/JSON rules that differ from the generic mapping: hex trace/span ids, enums as integers.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

from google.protobuf.json_format import MessageToDict
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan

_ID_KEYS = ("traceId", "spanId", "parentSpanId")


def _hex_ids(item: dict[str, Any]) -> None:
    for key in _ID_KEYS:
        if item.get(key):
            item[key] = base64.b64decode(item[key]).hex()


def spans_to_otlp_json(spans: Sequence[ReadableSpan]) -> dict[str, Any]:
    """`{"resourceSpans": [...]}` with hex ids, camelCase keys, 64-bit integers as strings."""
    document = MessageToDict(encode_spans(spans), use_integers_for_enums=True)
    for resource_spans in document.get("resourceSpans", []):
        for scope_spans in resource_spans.get("scopeSpans", []):
            for span in scope_spans.get("spans", []):
                _hex_ids(span)
                for link in span.get("links", []):
                    _hex_ids(link)
    return document
