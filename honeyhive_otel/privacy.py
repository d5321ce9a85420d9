"""What content leaves the process: `capture_content=False`, a `redact` callable, `redact_secrets`.

Both run on the final HoneyHive event (after mapping and merging, before encoding), so they
see exactly what would be sent, whichever convention produced it.

- `capture_content=False` keeps the structure of each event and drops its content: chat
  messages keep `role`, tool-call ids and function names (`tool_call_id`, `name`), tool
  definitions keep their names, outputs keep `role`/`finish_reason`/tool-call names, and
  numbers (tokens, cost, counts, dimensions) stay; message text, tool arguments and
  results, chain inputs/outputs, prompts, embedding inputs, unmapped attributes
  (`metadata.attributes`) and span-event attributes are removed. `metadata.content_omitted`
  is set to true.
- `redact(event_dict) -> event_dict` receives the event as sent (a JSON-able dict) and
  returns it changed. It fails closed: if it raises or returns something that is not a
  dict, the event is still sent, without `inputs`, `outputs`, `metadata.attributes` and
  the other content `capture_content=False` removes, with `metadata.redaction_failed =
  true`, and `stats.redaction_failures` counts it.
- `default_redactor` (exported as `honeyhive_otel.redact_secrets`) masks common secrets in
  every string: OpenAI/Anthropic/HoneyHive-style keys, AWS access keys, bearer/basic
  credentials, JWTs, private-key blocks and e-mail addresses, and the values of fields named
  like credentials (`api_key`, `authorization`, `password`, ...).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from .event import WIRE_FIELDS, Event
from .stats import ExportStats, RateLimitedLog, logger

Redactor = Callable[[dict[str, Any]], dict[str, Any]]
REDACTED = "[REDACTED]"
MAX_DEPTH = 64

# ----- capture_content=False ------------------------------------------------------------------
_MESSAGE_KEYS = ("role", "name", "tool_call_id", "finish_reason")
_CONFIG_CONTENT_HINTS = ("prompt", "template", "instruction", "system", "message", "variables", "input",
                         "output", "query", "description")


def omit_content(event: Event) -> Event:
    """Strip content from `event` in place, keeping roles, names, counts, tokens and cost."""
    event.inputs = _structure_of_inputs(event.inputs)
    event.outputs = _structure_of_outputs(event.outputs) if event.event_type == "model" else {}
    event.config = {key: value for key, value in event.config.items()
                    if not (isinstance(value, (str, list, dict)) and _content_key(key))}
    metadata = dict(event.metadata)
    metadata.pop("attributes", None)
    otel = metadata.get("otel")
    if isinstance(otel, dict) and isinstance(otel.get("events"), list):
        metadata["otel"] = {**otel, "events": [{"name": e.get("name"), "time": e.get("time")}
                                               for e in otel["events"] if isinstance(e, dict)]}
    metadata["content_omitted"] = True
    event.metadata = metadata
    return event


def _content_key(key: str) -> bool:
    lowered = key.lower()
    return any(hint in lowered for hint in _CONFIG_CONTENT_HINTS) and lowered != "tool_name"


def _message(message: Any) -> dict[str, Any]:
    if not isinstance(message, dict):
        return {}
    kept = {key: message[key] for key in _MESSAGE_KEYS if isinstance(message.get(key), str)}
    calls = message.get("tool_calls")
    if isinstance(calls, list):
        kept["tool_calls"] = [_tool_call(call) for call in calls]
    return kept


def _tool_call(call: Any) -> dict[str, Any]:
    if not isinstance(call, dict):
        return {}
    kept: dict[str, Any] = {key: call[key] for key in ("id", "type") if isinstance(call.get(key), str)}
    function = call.get("function")
    if isinstance(function, dict) and isinstance(function.get("name"), str):
        kept["function"] = {"name": function["name"]}
    return kept


def _tool_definition(tool: Any) -> dict[str, Any]:
    if not isinstance(tool, dict):
        return {}
    kept: dict[str, Any] = {"type": tool["type"]} if isinstance(tool.get("type"), str) else {}
    function = tool.get("function")
    name = function.get("name") if isinstance(function, dict) else tool.get("name")
    if isinstance(name, str):
        kept["function"] = {"name": name}
    return kept


def _structure_of_inputs(inputs: dict[str, Any]) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    history = inputs.get("chat_history")
    if isinstance(history, list):
        kept["chat_history"] = [_message(message) for message in history]
    tools = inputs.get("tools")
    if isinstance(tools, list):
        kept["tools"] = [_tool_definition(tool) for tool in tools]
    embedded = inputs.get("input")
    if isinstance(embedded, list):
        kept["input_count"] = len(embedded)
    return kept


def _structure_of_outputs(outputs: dict[str, Any]) -> dict[str, Any]:
    kept = _message(outputs)
    for key, value in outputs.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            kept[key] = value  # embedding count/dimension
    choices = outputs.get("choices")
    if isinstance(choices, list):
        kept["choices"] = [_message(choice) for choice in choices]
    return kept


# ----- default redactor ----------------------------------------------------------------------
SECRET_FIELD_NAMES = frozenset({
    "api_key", "apikey", "api-key", "x-api-key", "authorization", "proxy-authorization", "cookie", "set-cookie",
    "password", "passwd", "secret", "client_secret", "access_token", "refresh_token", "id_token", "private_key",
    "aws_secret_access_key", "aws_session_token", "x-auth-token", "master_key", "honeyhive_api_key",
})
_PATTERNS = (
    # PEM private keys.
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----"),
    # Anthropic, OpenAI (sk-, sk-proj-), LiteLLM virtual keys, and other "sk-" keys.
    re.compile(r"\bsk-(?:ant-)?[A-Za-z0-9_\-]{16,}"),
    # HoneyHive-style and other vendor keys with a short prefix (hh_, hh-, pk-lf-, xoxb- ...).
    re.compile(r"\b(?:hh|hhk|pk-lf|sk-lf|xox[abpr]|ghp|gho|github_pat|glpat)[_\-][A-Za-z0-9_\-]{16,}"),
    # AWS access key ids.
    re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b"),
    # AWS secret access keys named as such.
    re.compile(r"(?i)(aws_secret_access_key\s*[=:]\s*[\"']?)[A-Za-z0-9/+=]{40}"),
    # JWTs.
    re.compile(r"\beyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"),
    # Google API keys.
    re.compile(r"\bAIza[0-9A-Za-z_\-]{35}\b"),
    # E-mail addresses.
    re.compile(r"\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}\b"),
)
_CREDENTIAL = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=\-]{8,}")


def redact_text(text: str) -> str:
    """`text` with secrets replaced by "[REDACTED]"."""
    text = _CREDENTIAL.sub(lambda match: f"{match.group(1)} {REDACTED}", text)
    for pattern in _PATTERNS:
        if pattern.groups:
            text = pattern.sub(lambda match: f"{match.group(1)}{REDACTED}", text)
        else:
            text = pattern.sub(REDACTED, text)
    return text


def _is_secret_field(key: Any) -> bool:
    if not isinstance(key, str):
        return False
    lowered = key.strip().lower()
    return lowered in SECRET_FIELD_NAMES or lowered.replace("-", "_") in SECRET_FIELD_NAMES or (
        lowered.endswith(("_api_key", "-api-key", "_secret", "_password")))


def _redact_value(value: Any, depth: int = 0) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if depth >= MAX_DEPTH:
        return value
    if isinstance(value, Mapping):
        return {key: (REDACTED if _is_secret_field(key) and isinstance(item, str) else _redact_value(item, depth + 1))
                for key, item in value.items()}
    if isinstance(value, list):
        return [_redact_value(item, depth + 1) for item in value]
    return value


def default_redactor(event: dict[str, Any]) -> dict[str, Any]:
    """Mask common secrets anywhere in an event dict; ids, times and numbers are left alone."""
    untouched = ("event_id", "session_id", "parent_id", "start_time", "end_time", "duration")
    return {key: value if key in untouched else _redact_value(value) for key, value in event.items()}


redact_secrets = default_redactor


# ----- the step the exporter runs -----------------------------------------------------------
class Privacy:
    """Applies `capture_content` and `redact` to each final event; never raises."""

    def __init__(self, capture_content: bool = True, redact: Redactor | None = None,
                 stats: ExportStats | None = None) -> None:
        if redact is not None and not callable(redact):
            raise TypeError("redact must be a callable taking and returning an event dict")
        self.capture_content = capture_content
        self.redact = redact
        self.stats = stats or ExportStats()
        self._log = RateLimitedLog()

    @property
    def active(self) -> bool:
        return not self.capture_content or self.redact is not None

    def apply(self, event: Event) -> Event:
        if not self.capture_content:
            omit_content(event)
        if self.redact is not None:
            self._redact(event)
        return event

    def _redact(self, event: Event) -> None:
        try:
            result = self.redact(event.to_request())  # type: ignore[misc]
            if not isinstance(result, dict):
                raise TypeError(f"redact returned {type(result).__name__}, not a dict")
            for name in WIRE_FIELDS:
                if name in result:
                    setattr(event, name, result[name])
            for bucket in ("inputs", "outputs", "config", "metadata", "metrics", "user_properties", "feedback"):
                if not isinstance(getattr(event, bucket), dict):
                    setattr(event, bucket, {})
        except Exception as error:  # noqa: BLE001 - fail closed: the content goes, the event stays
            logger.debug("redact failed", exc_info=True)
            self.stats.add("redaction_failures")
            self._log.warning("redaction_failed", "honeyhive-otel redact callable failed (%s): event sent "
                              "without inputs, outputs and attributes", type(error).__name__)
            for bucket in ("config", "metadata"):
                if not isinstance(getattr(event, bucket), dict):
                    setattr(event, bucket, {})
            omit_content(event)
            event.inputs = {}
            event.outputs = {}
            event.metadata["redaction_failed"] = True
