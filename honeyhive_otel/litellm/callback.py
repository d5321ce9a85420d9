"""Our LiteLLM `CustomLogger`: records what the `otel` spans lack and emits failures they drop.

Registered once (idempotent) in `litellm.callbacks` and, at the front, in LiteLLM's internal
callback lists, so a later `litellm.callbacks = ["otel"]` or `litellm.success_callback = [...]`
does not unregister it and it runs before the `otel` logger for every event.

(a) Per call it records into `context.STORE` (keyed by `litellm_call_id`): the caller's
    session/user/custom `metadata={...}` keys (LiteLLM drops custom keys from spans), model
    group, deployment (also of failed attempts), api_base, retries, fallbacks, previous
    attempts, the routing strategy (from the Router that owns the deployment), the
    `litellm_trace_id` that links the attempts of one logical request and the attempt number,
    tool-call ids and embedding sizes. On the proxy it also records, per request trace, the
    `x-honeyhive-*` headers and body metadata so service spans join the same session.
(b) A failure becomes an error span (`litellm_request`, same attribute names as LiteLLM, status
    ERROR, exception event) when the `otel` logger will not report it: the user listed `otel`
    in `success_callback` only, or LiteLLM's retry de-duplication will swallow it (only the
    first failure of a retried request gets a span in 1.106). Never a duplicate: at most once
    per call, and never when `otel` reports the failure itself.

Imports litellm: only imported once litellm is (hooks.py, proxy.py).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

import litellm
from litellm.integrations.custom_logger import CustomLogger
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from ..mapping.litellm import ATTEMPT_ATTRIBUTE, REQUEST_PARAMETERS, SYNTHETIC_ATTRIBUTE
from ..mapping.values import to_jsonable
from . import steering
from .context import FAILURE, STORE, SUCCESS
from .secrets import redact, redact_text

logger = logging.getLogger("honeyhive_otel")

CALLBACK_LISTS = ("input_callback", "success_callback", "failure_callback", "_async_success_callback",
                   "_async_failure_callback")
_NO_CONTENT = frozenset({"false", "no_content", "event_only", "true"})  # LiteLLM reads "true" as EVENT_ONLY
_lock = threading.Lock()
_instance: HoneyHiveLiteLLMCallback | None = None


class HoneyHiveLiteLLMCallback(CustomLogger):
    """See the module docstring; every hook swallows its own errors."""

    def __init__(self) -> None:
        super().__init__()
        self.tracer_provider: Any = None

    # ----- LiteLLM hooks -------------------------------------------------------------
    def log_pre_api_call(self, model: Any, messages: Any, kwargs: Any) -> None:
        _safe(self._record_call, kwargs)

    def log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        _safe(self._on_success, kwargs, response_obj)

    async def async_log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        _safe(self._on_success, kwargs, response_obj)

    def log_failure_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        _safe(self._on_failure, kwargs, start_time, end_time, False)

    async def async_log_failure_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        _safe(self._on_failure, kwargs, start_time, end_time, True)

    async def async_pre_call_hook(self, user_api_key_dict: Any, cache: Any, data: Any, call_type: Any) -> None:
        """Proxy only: remember the request's steering for every span of its trace."""
        _safe(self._record_proxy_request, data)
        return None

    # ----- recording -----------------------------------------------------------------
    def _record_call(self, kwargs: Any) -> None:
        """Before the provider is called: the caller's steering and a new attempt record."""
        if not any(item is self for item in _callback_list("callbacks")):
            litellm.callbacks.append(self)  # the user replaced the list; stay visible where users look
        call_id, trace_id = _ids(kwargs)
        if call_id:
            STORE.record_call(call_id, **shared_fields(kwargs))
            STORE.begin_attempt(call_id, trace_id, **attempt_fields(kwargs))

    def _on_success(self, kwargs: Any, response: Any) -> None:
        call_id, trace_id = _ids(kwargs)
        if call_id:
            STORE.record_call(call_id, **shared_fields(kwargs))
            STORE.finish_attempt(call_id, trace_id, SUCCESS, **{**attempt_fields(kwargs), **payload_fields(kwargs),
                                                                  **response_fields(response)})

    def _on_failure(self, kwargs: Any, start_time: Any, end_time: Any, is_async: bool) -> None:
        call_id, trace_id = _ids(kwargs)
        if not call_id:
            return
        STORE.record_call(call_id, **shared_fields(kwargs))
        record = STORE.finish_attempt(call_id, trace_id, FAILURE, **{**attempt_fields(kwargs),
                                                                     **payload_fields(kwargs)})
        number = record.get("attempt")
        # Decide once per attempt, at the first failure event LiteLLM hands us for it.
        if not STORE.once(call_id, f"failure:{number}"):
            return
        if self._otel_will_miss(kwargs, is_async):
            self._emit_error_span(kwargs, start_time, end_time, number)

    def _record_proxy_request(self, data: Any) -> None:
        if not isinstance(data, Mapping):
            return
        metadata = data.get("metadata") if isinstance(data.get("metadata"), Mapping) else {}
        if not metadata and isinstance(data.get("litellm_metadata"), Mapping):
            metadata = data["litellm_metadata"]
        server_request = data.get("proxy_server_request") if isinstance(data.get("proxy_server_request"), Mapping) else {}
        headers = server_request.get("headers") if isinstance(server_request.get("headers"), Mapping) else None
        if headers is None and isinstance(metadata.get("headers"), Mapping):
            headers = metadata["headers"]
        body = metadata.get("requester_metadata") if isinstance(metadata.get("requester_metadata"), Mapping) else None
        if body is None and isinstance(server_request.get("body"), Mapping):
            body = server_request["body"].get("metadata") if isinstance(server_request["body"].get("metadata"),
                                                                        Mapping) else None
        wanted = steering.from_request(body, headers)
        trace_id = _trace_id_of(metadata.get("litellm_parent_otel_span")) or _trace_id_of(trace.get_current_span())
        if trace_id and (wanted.session_id or wanted.user_id or wanted.metadata):
            STORE.record_request(trace_id, **wanted.as_fields())

    # ----- failures the otel logger will not report ----------------------------------
    def _otel_will_miss(self, kwargs: Mapping[str, Any], is_async: bool) -> bool:
        failure_list = _callback_list("_async_failure_callback" if is_async else "failure_callback")
        handlers = [callback for callback in failure_list if _is_otel(callback)]
        if not handlers:
            # `success_callback=["otel"]` alone: LiteLLM reports successes but drops failures.
            success = _callback_list("success_callback") + _callback_list("_async_success_callback")
            return any(_is_otel(callback) for callback in success) or "otel" in _callback_list("callbacks")
        position = _index(failure_list, self)
        if position is None or any(_index(failure_list, handler) < position for handler in handlers):
            return False  # it ran before us: we cannot tell what it did, so never risk a duplicate
        # Retries share one metadata dict and the otel logger's "already emitted a failure"
        # marker in it: it will skip this failure.
        return any(_otel_marked_failure(kwargs, handler) for handler in handlers)

    def _emit_error_span(self, kwargs: Mapping[str, Any], start_time: Any, end_time: Any, attempt: Any) -> None:
        provider = self.tracer_provider or trace.get_tracer_provider()
        tracer = provider.get_tracer("litellm")
        params = _litellm_params(kwargs)
        metadata = params.get("metadata") if isinstance(params.get("metadata"), Mapping) else {}
        parent = metadata.get("litellm_parent_otel_span")
        context = trace.set_span_in_context(parent) if _is_span(parent) else None
        name = metadata.get("generation_name") or "litellm_request"
        attributes = error_span_attributes(kwargs)
        if isinstance(attempt, int):
            attributes[ATTEMPT_ATTRIBUTE] = attempt
        span = tracer.start_span(str(name), context=context, kind=SpanKind.INTERNAL,
                                 start_time=_ns(start_time), attributes=attributes)
        exception = kwargs.get("exception")
        if isinstance(exception, BaseException):
            span.record_exception(exception, escaped=False)
        message = redact_text(str(exception)) if exception is not None else "LiteLLM call failed"
        span.set_status(Status(StatusCode.ERROR, message[:1_000]))
        span.end(end_time=_ns(end_time))


def _safe(function: Callable[..., Any], *args: Any) -> Any:
    try:
        return function(*args)
    except Exception:  # noqa: BLE001 - a logging callback must never break the user's call
        logger.debug("honeyhive-otel LiteLLM callback failed", exc_info=True)
        return None


# ----- registration ------------------------------------------------------------------
def get_callback() -> HoneyHiveLiteLLMCallback:
    """The process-wide instance (the proxy's `handler` is the same object)."""
    global _instance
    with _lock:
        if _instance is None:
            _instance = HoneyHiveLiteLLMCallback()
        return _instance


def register(handle: Any = None) -> HoneyHiveLiteLLMCallback:
    """Put our callback in `litellm.callbacks` and at the front of LiteLLM's internal lists (idempotent)."""
    callback = get_callback()
    provider = getattr(handle, "provider", None)
    if provider is not None:
        callback.tracer_provider = provider
    if not any(item is callback for item in _callback_list("callbacks")):
        litellm.callbacks.append(callback)
    for name in CALLBACK_LISTS:
        items = getattr(litellm, name, None)
        if isinstance(items, list) and not any(item is callback for item in items):
            items.insert(0, callback)
    return callback


# ----- reading kwargs ----------------------------------------------------------------
def _litellm_params(kwargs: Mapping[str, Any]) -> Mapping[str, Any]:
    params = kwargs.get("litellm_params")
    return params if isinstance(params, Mapping) else {}


def _metadata(kwargs: Mapping[str, Any]) -> Mapping[str, Any]:
    params = _litellm_params(kwargs)
    for key in ("metadata", "litellm_metadata"):
        if isinstance(params.get(key), Mapping):
            return params[key]
    return {}


def is_proxy_call(kwargs: Mapping[str, Any], metadata: Mapping[str, Any]) -> bool:
    return bool(_litellm_params(kwargs).get("proxy_server_request")) or "user_api_key_hash" in metadata \
        or "requester_metadata" in metadata


def _ids(kwargs: Any) -> tuple[str | None, str | None]:
    """(litellm_call_id, litellm_trace_id) of a callback's kwargs."""
    if not isinstance(kwargs, Mapping):
        return None, None
    params = _litellm_params(kwargs)
    call_id = kwargs.get("litellm_call_id") or params.get("litellm_call_id")
    trace_id = kwargs.get("litellm_trace_id") or params.get("litellm_trace_id")
    return (str(call_id) if call_id else None), (str(trace_id) if trace_id else None)


def shared_fields(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """True for every attempt of a call: the caller's steering and the logical request's id."""
    fields: dict[str, Any] = {
        "trace_id": _ids(kwargs)[1],
        "stream": kwargs.get("stream") if isinstance(kwargs.get("stream"), bool) else None,
        "parameters": _parameters(kwargs.get("optional_params")),
    }
    fields.update(call_steering(kwargs, _metadata(kwargs)).as_fields())
    return fields


def attempt_fields(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """What the Router stamped on this attempt (plain, redacted data)."""
    metadata = _metadata(kwargs)
    model_info = metadata.get("model_info") if isinstance(metadata.get("model_info"), Mapping) else {}
    return {
        "model_group": _text(metadata.get("model_group")),
        "deployment_id": _text(model_info.get("id")),
        "deployment": _text(metadata.get("deployment")),
        "attempted_retries": _int(metadata.get("attempted_retries")),
        "attempted_fallbacks": _int(metadata.get("attempted_fallbacks")),
        "max_retries": _int(metadata.get("max_retries")),
        "previous_attempts": previous_attempts(metadata.get("previous_models")),
        "routing_strategy": routing_strategy(metadata.get("model_group"), model_info.get("id")),
        "provider": _text(kwargs.get("custom_llm_provider")),
    }


def call_steering(kwargs: Mapping[str, Any], metadata: Mapping[str, Any]) -> steering.Steering:
    if is_proxy_call(kwargs, metadata):
        server_request = _litellm_params(kwargs).get("proxy_server_request")
        headers = server_request.get("headers") if isinstance(server_request, Mapping) else None
        if not isinstance(headers, Mapping):
            headers = metadata.get("headers") if isinstance(metadata.get("headers"), Mapping) else None
        requester = metadata.get("requester_metadata")
        return steering.from_request(requester if isinstance(requester, Mapping) else None, headers)
    wanted = steering.from_body(metadata)
    nested = metadata.get("metadata")
    if isinstance(nested, Mapping):
        wanted = wanted.fill(steering.from_body(nested))
    session = kwargs.get("litellm_session_id") or _litellm_params(kwargs).get("litellm_session_id")
    if session and not wanted.session_id:
        wanted.session_id = str(session)
    return wanted


def payload_fields(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """From the StandardLoggingPayload: what routing resolved (also for failed attempts)."""
    payload = kwargs.get("standard_logging_object")
    if not isinstance(payload, Mapping):
        return {}
    hidden = payload.get("hidden_params") if isinstance(payload.get("hidden_params"), Mapping) else {}
    headers = hidden.get("additional_headers") if isinstance(hidden.get("additional_headers"), Mapping) else {}
    cache_hit = payload.get("cache_hit")
    return {
        "deployment_id": _text(payload.get("model_id")),
        "model_group": _text(payload.get("model_group")),
        "provider": _text(payload.get("custom_llm_provider")),
        "cache_hit": cache_hit if isinstance(cache_hit, bool) else None,
        "attempted_retries": _int(headers.get("x-litellm-attempted-retries")),
        "attempted_fallbacks": _int(headers.get("x-litellm-attempted-fallbacks")),
    }


def response_fields(response: Any) -> dict[str, Any]:
    """Tool-call ids (spans carry calls without ids) and embedding sizes (never the vectors)."""
    fields: dict[str, Any] = {}
    choices = _get(response, "choices")
    if isinstance(choices, list) and choices:
        message = _get(choices[0], "message")
        calls = _get(message, "tool_calls")
        if isinstance(calls, list) and calls:
            fields["tool_call_ids"] = [str(_get(call, "id") or "") for call in calls[:128]]
    data = _get(response, "data")
    if isinstance(data, list) and data and _get(response, "object") in ("list", None):
        vector = _get(data[0], "embedding")
        if isinstance(vector, (list, str)):
            fields["embedding_count"] = len(data)
            if isinstance(vector, list):
                fields["embedding_dimension"] = len(vector)
    return fields


def _get(value: Any, name: str) -> Any:
    if isinstance(value, Mapping):
        return value.get(name)
    try:
        return getattr(value, name, None)
    except Exception:  # noqa: BLE001
        return None


def previous_attempts(value: Any) -> list[dict[str, Any]] | None:
    """The Router's `previous_models`: earlier failed attempts of this request."""
    if not isinstance(value, (list, tuple)) or not value:
        return None
    attempts = []
    for item in list(value)[:32]:
        if not isinstance(item, Mapping):
            continue
        attempt = {
            "deployment_id": _text(item.get("deployment_id")),
            "model_group": _text(item.get("model_group")),
            "model": _text(item.get("model")),
            "attempted_retries": _int(item.get("attempted_retries")),
            "error": _error_text(item.get("exception_type"), item.get("exception_string")),
        }
        attempts.append({key: value for key, value in attempt.items() if value is not None})
    return attempts or None


def _error_text(kind: Any, message: Any) -> str | None:
    if not kind and not message:
        return None
    text = f"{kind}: {message}" if kind and message else str(kind or message)
    return redact_text(text[:500])


def routing_strategy(model_group: Any, deployment_id: Any) -> str | None:
    """The strategy of the Router that owns this deployment (per routing group, else its default)."""
    if not model_group and not deployment_id:
        return None
    for router in _routers():
        try:
            if deployment_id and router.get_deployment(str(deployment_id)) is None:
                continue
            group = router.get_routing_group(model_group) if model_group and hasattr(router, "get_routing_group") \
                else None
            strategy = getattr(group, "routing_strategy", None) or getattr(router, "routing_strategy", None)
            if strategy:
                return str(getattr(strategy, "value", strategy))
        except Exception:  # noqa: BLE001
            continue
    return None


def _routers() -> Iterable[Any]:
    """Routers register bound methods as LiteLLM callbacks: that is where we find them."""
    router_class = getattr(litellm, "Router", None)
    seen: set[int] = set()
    for name in ("_async_success_callback", "success_callback", "_async_failure_callback", "failure_callback"):
        for callback in _callback_list(name):
            owner = getattr(callback, "__self__", None)
            if router_class is not None and isinstance(owner, router_class) and id(owner) not in seen:
                seen.add(id(owner))
                yield owner


def _parameters(optional_params: Any) -> dict[str, Any] | None:
    if not isinstance(optional_params, Mapping):
        return None
    result = {}
    for name in REQUEST_PARAMETERS:
        ok, value = steering.plain(optional_params.get(name))
        if ok and value is not None:
            result[name] = value
    return redact(result) or None


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list, tuple)):
        return None
    text = str(value).strip()
    return text or None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


# ----- callback lists and the otel logger --------------------------------------------
def _callback_list(name: str) -> list[Any]:
    items = getattr(litellm, name, None)
    return list(items) if isinstance(items, list) else []


def _index(items: list[Any], target: Any) -> Any:
    return next((index for index, item in enumerate(items) if item is target), None)


def _is_otel(callback: Any) -> bool:
    """LiteLLM's v1 `otel` logger exactly (its subclasses are other integrations)."""
    if isinstance(callback, str):
        return callback == "otel"
    cls = type(callback)
    return cls.__name__ == "OpenTelemetry" and cls.__module__ == "litellm.integrations.opentelemetry"


def _otel_marked_failure(kwargs: Mapping[str, Any], handler: Any) -> bool:
    internal = _metadata(kwargs).get("_otel_internal")
    logged = internal.get("spans_logged") if isinstance(internal, Mapping) else None
    if not isinstance(logged, Mapping):
        return False
    return any(isinstance(key, tuple) and len(key) >= 3 and key[1] == id(handler) and key[-1] == "failure"
               for key in logged)


# ----- the error span ----------------------------------------------------------------
def _is_span(value: Any) -> bool:
    return value is not None and callable(getattr(value, "get_span_context", None))


def _trace_id_of(span: Any) -> int:
    if not _is_span(span):
        return 0
    context = span.get_span_context()
    return context.trace_id if context is not None and context.is_valid else 0


def _ns(moment: Any) -> int | None:
    if isinstance(moment, datetime):
        return int(moment.timestamp() * 1_000_000_000)
    if isinstance(moment, (int, float)) and moment > 0:
        return int(moment * 1_000_000_000) if moment < 1e12 else int(moment)
    return None


def _content_allowed() -> bool:
    if getattr(litellm, "turn_off_message_logging", False):
        return False
    value = os.environ.get("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "").strip().lower()
    return value not in _NO_CONTENT


def _primitive(value: Any) -> Any:
    """LiteLLM's attribute casting: None -> '', primitives kept, anything else `str()`."""
    if value is None:
        return ""
    if isinstance(value, (bool, int, float, str)):
        return value
    return str(to_jsonable(value))


def error_span_attributes(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """A failed call's `litellm_request` attributes, named as LiteLLM names them."""
    payload = kwargs.get("standard_logging_object") if isinstance(kwargs.get("standard_logging_object"),
                                                                   Mapping) else {}
    metadata = _metadata(kwargs)
    call_type = str(kwargs.get("call_type") or payload.get("call_type") or "completion")
    provider = kwargs.get("custom_llm_provider") or payload.get("custom_llm_provider") or ""
    error = payload.get("error_information") if isinstance(payload.get("error_information"), Mapping) else {}
    exception = kwargs.get("exception")
    attributes: dict[str, Any] = {
        SYNTHETIC_ATTRIBUTE: True,
        "litellm.call_id": str(kwargs.get("litellm_call_id") or ""),
        "llm.request.type": call_type,
        "gen_ai.operation.name": "chat" if call_type == "completion" else call_type,
        "gen_ai.request.model": str(kwargs.get("model") or ""),
        "gen_ai.system": str(provider),
        "litellm.provider.model": str(payload.get("model") or kwargs.get("model") or ""),
        "llm.is_streaming": str(bool(kwargs.get("stream"))),
        "hidden_params": json.dumps({"model_id": payload.get("model_id"), "api_base": None, "response_cost": 0.0}),
        "error.type": str(error.get("error_class") or type(exception).__name__),
        "error.message": redact_text(str(error.get("error_message") or exception or ""))[:4_000],
        "error.llm_provider": str(error.get("llm_provider") or provider),
    }
    group = metadata.get("model_group")
    if group:
        attributes["litellm.model_group"] = str(group)
    code = error.get("error_code") or getattr(exception, "status_code", None)
    if code:
        attributes["error.code"] = str(code)
        if str(code).isdigit():
            attributes["http.response.status_code"] = int(code)
    optional = kwargs.get("optional_params") if isinstance(kwargs.get("optional_params"), Mapping) else {}
    user = kwargs.get("user") or optional.get("user")
    if user:
        attributes["llm.user"] = str(user)
    if _content_allowed():
        messages = kwargs.get("messages")
        if messages is None and kwargs.get("input") is not None:
            messages = [{"role": "user", "content": kwargs.get("input")}]
        if messages is not None:
            attributes["gen_ai.input.messages"] = json.dumps(to_jsonable(messages), ensure_ascii=False)
    standard = payload.get("metadata") if isinstance(payload.get("metadata"), Mapping) else {}
    for key, value in standard.items():
        attributes[f"metadata.{key}"] = _primitive(redact(value))
    return attributes
