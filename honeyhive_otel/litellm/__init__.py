"""LiteLLM integration: `configure()` + `litellm.callbacks = ["otel"]` captures every call.

- `hooks.install(handle)` (called by `honeyhive_otel.configure()`): makes LiteLLM's `otel`
  callback create proper request spans, drains LiteLLM's async logging worker before our
  processor shuts down, and registers our callback once LiteLLM is imported.
- `callback`: a small `CustomLogger` that records what LiteLLM's spans lack (router and
  caller context, see `context`) and emits failures LiteLLM's `otel` callback would drop.
- `proxy`: `litellm_settings: callbacks: ["otel", "honeyhive_otel.litellm.proxy.handler"]`.

This package imports without LiteLLM installed; only `callback` and `proxy` import it.
See docs/litellm.md.
"""

from __future__ import annotations

from typing import Any

__all__ = ["install"]


def install(handle: Any) -> None:
    """Hook LiteLLM into the pipeline of `handle` (a no-op without LiteLLM; never raises)."""
    from .hooks import install as _install

    _install(handle)
