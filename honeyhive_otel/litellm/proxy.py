"""The LiteLLM proxy integration: one line in the proxy's config.yaml.

    litellm_settings:
      callbacks: ["otel", "honeyhive_otel.litellm.proxy.handler"]

Importing this module (the proxy does it while it reads its config, before it builds the
`otel` logger) calls `honeyhive_otel.configure()` from the `HONEYHIVE_*` environment
(`HONEYHIVE_API_KEY`, `HONEYHIVE_SERVER_URL`, `HONEYHIVE_SOURCE`, ...). LiteLLM's `otel`
callback then reuses our provider, so the request spans, the proxy's service spans and its
FastAPI spans all reach HoneyHive. Sessions are per proxy request (its trace) unless the
client names one (`HONEYHIVE_SESSION_MODE=process` groups everything per process instead).

Clients steer events with headers `x-honeyhive-session-id`, `x-honeyhive-user-id`,
`x-honeyhive-metadata-<key>`, or with the request body's `metadata` (`session_id`,
`user_id`, custom keys). `handler` is the `CustomLogger` instance the config line names.
"""

from __future__ import annotations

import os

import honeyhive_otel

from .callback import HoneyHiveLiteLLMCallback, get_callback, register

handle = honeyhive_otel.configure(session_mode=os.environ.get("HONEYHIVE_SESSION_MODE", "trace").strip() or "trace")
handler: HoneyHiveLiteLLMCallback = register(handle) if handle.enabled else get_callback()

__all__ = ["handle", "handler"]
