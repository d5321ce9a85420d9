"""Settings from arguments and environment variables: explicit argument > HONEYHIVE_* > HH_* > OTEL_* > default.

Errors are raised here, at configuration time, with a message that says what to set; the
API key itself never appears in a message.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import urlparse

DEFAULT_SERVER_URL = "https://api.dp1.us.honeyhive.ai"
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


class ConfigurationError(ValueError):
    """The package cannot start as configured (missing key, unsafe URL, bad option)."""


def env(*names: str) -> str | None:
    """The first set, non-empty environment variable among `names`."""
    for name in names:
        value = os.environ.get(name)
        if value is not None and value.strip() != "":
            return value.strip()
    return None


def env_bool(*names: str, default: bool = False) -> bool:
    value = env(*names)
    if value is None:
        return default
    return value.lower() in ("1", "true", "yes", "on")


def env_float(*names: str) -> float | None:
    value = env(*names)
    if value is None:
        return None
    try:
        return float(value)
    except ValueError as error:
        raise ConfigurationError(f"{names[0]} must be a number, got {value!r}") from error


def resolve_api_key(api_key: str | None) -> str | None:
    return api_key or env("HONEYHIVE_API_KEY", "HH_API_KEY", "HH_INGESTION_API_KEY")


def resolve_server_url(server_url: str | None) -> str:
    return (server_url or env("HONEYHIVE_SERVER_URL", "HH_API_URL", "HH_SERVER_URL") or DEFAULT_SERVER_URL).rstrip("/")


def is_local(server_url: str) -> bool:
    host = urlparse(server_url).hostname or ""
    return host in LOCAL_HOSTS or host.startswith("127.")


def validate_endpoint(server_url: str, api_key: str | None, allow_insecure_http: bool = False) -> None:
    """Refuse configurations that would fail silently or leak the key."""
    parsed = urlparse(server_url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ConfigurationError(f"server_url must be an http(s) URL, got {server_url!r}")
    local = is_local(server_url)
    if parsed.scheme == "http" and not local and not (allow_insecure_http or env_bool("HONEYHIVE_ALLOW_INSECURE_HTTP")):
        raise ConfigurationError(
            f"refusing plain http:// for non-local host {parsed.hostname!r}: the API key would travel "
            "unencrypted. Use https://, or pass allow_insecure_http=True (HONEYHIVE_ALLOW_INSECURE_HTTP=true)."
        )
    if not api_key and not local:
        raise ConfigurationError(
            "HoneyHive API key missing: pass api_key=... or set HONEYHIVE_API_KEY "
            f"(required for {parsed.hostname}; only a 127.0.0.1/localhost server_url needs no key)."
        )


def default_session_name() -> str:
    """OTEL_SERVICE_NAME, else the running script's name, else "python"."""
    name = env("OTEL_SERVICE_NAME")
    if name:
        return name
    argv0 = sys.argv[0] if sys.argv and sys.argv[0] else ""
    stem = Path(argv0).stem if argv0 and argv0 not in ("-c", "-m") else ""
    return stem or "python"


def default_export_timeout() -> float:
    """Seconds one export may take: HONEYHIVE_TIMEOUT, else OTEL_BSP_EXPORT_TIMEOUT (ms), else 30."""
    seconds = env_float("HONEYHIVE_TIMEOUT")
    if seconds is not None:
        return seconds
    millis = env_float("OTEL_BSP_EXPORT_TIMEOUT")
    if millis is not None:
        return millis / 1000
    return 30.0
