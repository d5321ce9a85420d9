"""The package version, read by the transport's User-Agent header."""

__version__ = "0.1.0"
