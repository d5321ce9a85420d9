"""The context API: group calls into sessions and enrich them, the way users think of them.

    with honeyhive_otel.session(name="support chat", user_id="u-42", metadata={"plan": "pro"}):
        litellm.completion(...)            # every span started inside joins the session

    @honeyhive_otel.session(name="nightly eval")   # each call: a new session
    async def run(): ...

    with honeyhive_otel.context(metadata={"request_id": rid}):   # enrich, same session
        ...

Values live in the OpenTelemetry context (contextvars), so they follow `await`, tasks and
LiteLLM's callback threads (which copy the context). `HoneyHiveSpanProcessor.on_start`
stamps them on every span started inside, auto-instrumented spans included, as
`honeyhive.context.*` attributes that the mapping reads with lower priority than the
span's own attributes. Nested scopes merge, inner over outer. By default `session()`
opens no span of its own (the HoneyHive session is already the root of its events);
`span=True` adds a chain event named after the session.
"""

from __future__ import annotations

import functools
import inspect
import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from opentelemetry import baggage, trace
from opentelemetry import context as otel_context
from opentelemetry.context import Context
from opentelemetry.trace import Status, StatusCode

from .ids import normalize_session_id
from .mapping.values import to_jsonable
from .sessions import (
    BAGGAGE_SESSION_NAME,
    BAGGAGE_SESSION_PUBLIC_KEY,
    CONTEXT_METADATA_KEY,
    CONTEXT_SESSION_KEY,
    CONTEXT_SESSION_NAME_KEY,
    CONTEXT_SESSION_VALUES_KEY,
    CONTEXT_TAGS_KEY,
    CONTEXT_USER_ID_KEY,
    CONTEXT_USER_PROPERTIES_KEY,
)
from .version import __version__

F = TypeVar("F", bound=Callable[..., Any])

_KEY = otel_context.create_key("honeyhive_otel.context")
SCOPE_NAME = "honeyhive_otel"


@dataclass(frozen=True)
class ContextValues:
    """The merged values in force at one point; `attributes` is what a span started there gets."""

    session_id: str | None = None
    session_name: str | None = None
    user_id: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    user_properties: Mapping[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    # What the session is created with: the values in force where `session()` opened (a
    # `context()` nested inside enriches the events, not the session). JSON, or None.
    session_values: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)

    def merged(self, inner: ContextValues, opens_session: bool = False) -> ContextValues:
        """`inner` over `self`: dicts merge key by key, tags union, scalars inner if set."""
        merged = _build(
            session_id=inner.session_id or self.session_id,
            session_name=inner.session_name if inner.session_id else (inner.session_name or self.session_name),
            user_id=inner.user_id or self.user_id,
            metadata={**self.metadata, **inner.metadata},
            user_properties={**self.user_properties, **inner.user_properties},
            tags=tuple(dict.fromkeys((*self.tags, *inner.tags))),
            session_values=None if opens_session else self.session_values,
        )
        if not opens_session:
            return merged
        snapshot = {"metadata": merged.metadata, "user_properties": merged.user_properties, "tags": merged.tags}
        if merged.user_id:
            snapshot["user_properties"] = {**merged.user_properties, "user_id": merged.user_id}
        return _build(merged.session_id, merged.session_name, merged.user_id, merged.metadata,
                      merged.user_properties, merged.tags, _json(snapshot))


def _json(value: Any) -> str:
    return json.dumps(to_jsonable(value), separators=(",", ":"))


def _build(session_id: str | None = None, session_name: str | None = None, user_id: str | None = None,
           metadata: Mapping[str, Any] | None = None, user_properties: Mapping[str, Any] | None = None,
           tags: tuple[str, ...] = (), session_values: str | None = None) -> ContextValues:
    """Values plus their span attributes, computed once per scope rather than per span."""
    metadata = dict(metadata or {})
    user_properties = dict(user_properties or {})
    attributes: dict[str, Any] = {}
    if session_id:
        attributes[CONTEXT_SESSION_KEY] = session_id
    if session_name:
        attributes[CONTEXT_SESSION_NAME_KEY] = session_name
    if user_id:
        attributes[CONTEXT_USER_ID_KEY] = user_id
    if metadata:
        attributes[CONTEXT_METADATA_KEY] = _json(metadata)
    if user_properties:
        attributes[CONTEXT_USER_PROPERTIES_KEY] = _json(user_properties)
    if tags:
        attributes[CONTEXT_TAGS_KEY] = tuple(tags)
    if session_values:
        attributes[CONTEXT_SESSION_VALUES_KEY] = session_values
    return ContextValues(session_id, session_name, user_id, metadata, user_properties, tuple(tags), session_values,
                         attributes)


def current(ctx: Context | None = None) -> ContextValues | None:
    """The values in force in `ctx` (default: the current context), or None."""
    value = otel_context.get_value(_KEY, ctx)
    return value if isinstance(value, ContextValues) else None


def current_session_id() -> str | None:
    """The HoneyHive session id (a UUID) of the innermost `session()` in force, or None."""
    values = current()
    return normalize_session_id(values.session_id)[0] if values and values.session_id else None


# ----- scopes ---------------------------------------------------------------------------
@dataclass
class _Active:
    ctx: Context
    span: Any = None
    token: Any = None


class _Scope:
    """A context manager (sync and async) and a decorator (functions, coroutines, generators)."""

    def __init__(self, *, new_session: bool, session_id: Any = None, name: str | None = None,
                 user_id: Any = None, metadata: Mapping[str, Any] | None = None,
                 user_properties: Mapping[str, Any] | None = None, tags: Iterable[str] | str | None = None,
                 propagate: bool = False, span: bool = False, tracer_provider: Any = None) -> None:
        self._new_session = new_session
        self._tracer_provider = tracer_provider
        self._explicit_id = None if session_id is None or str(session_id).strip() == "" else str(session_id).strip()
        self._name = None if name is None else str(name)
        self._user_id = None if user_id is None else str(user_id)
        self._metadata = _mapping(metadata, "metadata")
        self._user_properties = _mapping(user_properties, "user_properties")
        self._tags = _tags(tags)
        self._propagate = propagate
        self._span = span
        self._stack: list[_Active] = []
        self.raw_session_id: str | None = self._explicit_id
        self.session_id: str | None = normalize_session_id(self._explicit_id)[0] if self._explicit_id else None

    def _fresh(self) -> _Scope:
        """An unentered copy with the same arguments: each decorated call gets its own scope."""
        return _Scope(new_session=self._new_session, session_id=self._explicit_id, name=self._name,
                      user_id=self._user_id, metadata=self._metadata, user_properties=self._user_properties,
                      tags=self._tags, propagate=self._propagate, span=self._span,
                      tracer_provider=self._tracer_provider)

    # ----- opening and closing -----------------------------------------------------
    def _open(self) -> _Active:
        base = otel_context.get_current()
        outer = current(base) or ContextValues()
        own_id = self._explicit_id or (str(uuid.uuid4()) if self._new_session else None)
        own = _build(session_id=own_id, session_name=self._name if self._new_session else None,
                     user_id=self._user_id, metadata=self._metadata, user_properties=self._user_properties,
                     tags=self._tags)
        values = outer.merged(own, opens_session=self._new_session)
        if own_id:
            self.raw_session_id = own_id
            self.session_id = normalize_session_id(own_id)[0]
        ctx = otel_context.set_value(_KEY, values, base)
        if self._propagate and values.session_id:
            ctx = baggage.set_baggage(BAGGAGE_SESSION_PUBLIC_KEY, values.session_id, context=ctx)
            if values.session_name:
                ctx = baggage.set_baggage(BAGGAGE_SESSION_NAME, values.session_name, context=ctx)
        active = _Active(ctx)
        if self._span:
            name = values.session_name or "session"
            active.span = _tracer(self._tracer_provider).start_span(name, context=ctx, attributes={"honeyhive.event_type": "chain"})
            active.ctx = trace.set_span_in_context(active.span, ctx)
        return active

    @staticmethod
    def _close(active: _Active, error: BaseException | None) -> None:
        span = active.span
        if span is None:
            return
        if error is not None and not isinstance(error, (GeneratorExit, StopIteration, StopAsyncIteration)):
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
        span.end()

    def __enter__(self) -> _Scope:
        active = self._open()
        active.token = otel_context.attach(active.ctx)
        self._stack.append(active)
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        active = self._stack.pop()
        otel_context.detach(active.token)
        self._close(active, exc)

    async def __aenter__(self) -> _Scope:
        return self.__enter__()

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        self.__exit__(exc_type, exc, tb)

    # ----- decorator ---------------------------------------------------------------
    def __call__(self, func: F) -> F:
        if inspect.isasyncgenfunction(func):
            return _wrap_async_generator(self, func)  # type: ignore[return-value]
        if inspect.isgeneratorfunction(func):
            return _wrap_generator(self, func)  # type: ignore[return-value]
        if inspect.iscoroutinefunction(func):
            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                with self._fresh():
                    return await func(*args, **kwargs)
            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self._fresh():
                return func(*args, **kwargs)
        return wrapper  # type: ignore[return-value]

    def __repr__(self) -> str:
        kind = "session" if self._new_session else "context"
        return f"honeyhive_otel.{kind}(session_id={self.raw_session_id!r}, name={self._name!r})"


def _wrap_generator(scope: _Scope, func: Callable[..., Any]) -> Callable[..., Any]:
    """The scope is current only while the generator runs, never between its yields."""
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        fresh = scope._fresh()
        active = fresh._open()
        error: BaseException | None = None

        def step(action: Callable[[], Any]) -> Any:
            token = otel_context.attach(active.ctx)
            try:
                return action()
            finally:
                otel_context.detach(token)

        try:
            generator = step(lambda: func(*args, **kwargs))
            value = step(lambda: next(generator))
            while True:
                try:
                    sent = yield value
                except GeneratorExit:
                    step(generator.close)
                    raise
                except BaseException as thrown:  # noqa: BLE001 - forwarded into the generator
                    value = step(lambda thrown=thrown: generator.throw(thrown))
                else:
                    value = step(lambda sent=sent: generator.send(sent))
        except StopIteration as stop:
            return stop.value
        except BaseException as raised:
            error = raised
            raise
        finally:
            scope._close(active, error)
    return wrapper


def _wrap_async_generator(scope: _Scope, func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        fresh = scope._fresh()
        active = fresh._open()
        error: BaseException | None = None
        token = otel_context.attach(active.ctx)
        try:
            generator = func(*args, **kwargs)
        finally:
            otel_context.detach(token)
        try:
            sent: Any = None
            while True:
                token = otel_context.attach(active.ctx)
                try:
                    value = await generator.asend(sent)
                except StopAsyncIteration:
                    return
                finally:
                    otel_context.detach(token)
                sent = yield value
        except BaseException as raised:
            error = raised
            raise
        finally:
            scope._close(active, error)
    return wrapper


def session(name: str | None = None, *, session_id: Any = None, user_id: Any = None,
            metadata: Mapping[str, Any] | None = None, user_properties: Mapping[str, Any] | None = None,
            tags: Iterable[str] | str | None = None, propagate: bool = False, span: bool = False,
            tracer_provider: Any = None) -> _Scope:
    """A HoneyHive session around a block or a function call.

    Without `session_id` each entry (each decorated call) starts a new session; with one,
    every entry joins that session (non-UUID ids map to a stable UUID). Inside an outer
    scope, user, metadata, user properties and tags are inherited and merged, inner over
    outer. `propagate=True` also puts the session in W3C baggage, so services called with
    `opentelemetry.propagate.inject` headers join it. `span=True` opens a chain span named
    after the session (scope `honeyhive_otel`) that the calls inside nest under, from
    `tracer_provider` (default: the one `configure()` attached to, else the global one).
    """
    return _Scope(new_session=True, session_id=session_id, name=name, user_id=user_id, metadata=metadata,
                  user_properties=user_properties, tags=tags, propagate=propagate, span=span,
                  tracer_provider=tracer_provider)


def context(*, user_id: Any = None, metadata: Mapping[str, Any] | None = None,
            user_properties: Mapping[str, Any] | None = None, tags: Iterable[str] | str | None = None) -> _Scope:
    """Per-request enrichment without a new session: merged into the scopes already in force."""
    return _Scope(new_session=False, user_id=user_id, metadata=metadata, user_properties=user_properties,
                  tags=tags)


def _tracer(provider: Any = None) -> trace.Tracer:
    """The tracer of `provider`, else of the provider `configure()` attached to, else the global one."""
    from . import pipeline  # late import: pipeline imports the processor, which imports this module

    handle = pipeline.current_handle()
    if provider is None and handle is not None:
        provider = handle.provider
    if provider is not None:
        return provider.get_tracer(SCOPE_NAME, __version__)
    return trace.get_tracer(SCOPE_NAME, __version__)


def _mapping(value: Mapping[str, Any] | None, name: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a mapping (a dict), got {type(value).__name__}")
    return {str(key): item for key, item in value.items()}


def _tags(value: Iterable[str] | str | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    return tuple(dict.fromkeys(str(tag) for tag in value if str(tag).strip()))
