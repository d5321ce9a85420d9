"""honeyhive-otel: send LLM traces to HoneyHive through OpenTelemetry.

    import honeyhive_otel
    handle = honeyhive_otel.configure(api_key="...")
"""

from .config import ConfigurationError
from .exporter import HoneyHiveSpanExporter
from .pipeline import Handle, configure
from .processor import HoneyHiveSpanProcessor
from .version import __version__

__all__ = [
    "ConfigurationError",
    "Handle",
    "HoneyHiveSpanExporter",
    "HoneyHiveSpanProcessor",
    "__version__",
    "configure",
]
