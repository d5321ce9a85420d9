"""honeyhive-otel: send LLM traces to HoneyHive through OpenTelemetry.

    import honeyhive_otel
    handle = honeyhive_otel.configure(api_key="...")
    with honeyhive_otel.session(name="support chat", user_id="u-42"):
        ...
"""

from .config import ConfigurationError
from .context import context, current_session_id, session
from .exporter import HoneyHiveSpanExporter
from .pipeline import Handle, configure
from .privacy import redact_secrets
from .processor import HoneyHiveSpanProcessor, processor_from_env
from .version import __version__

__all__ = [
    "ConfigurationError",
    "Handle",
    "HoneyHiveSpanExporter",
    "HoneyHiveSpanProcessor",
    "__version__",
    "configure",
    "context",
    "current_session_id",
    "processor_from_env",
    "redact_secrets",
    "session",
]
