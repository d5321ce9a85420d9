"""Wire LiteLLM into a configured pipeline: `install(handle)`, called once by `configure()`.

What it does (all of it a no-op when LiteLLM is not installed, and it never raises):

1. `USE_OTEL_LITELLM_REQUEST_SPAN=true` (unless the user set it): without it a call made
   inside any active span writes its attributes onto that span, which is usually already
   closed, and the LLM data is lost.
2. One warning when `configure()` installed the global provider while LiteLLM's own exporter
   variables (`OTEL_EXPORTER`, `OTEL_ENDPOINT`, `OTEL_EXPORTER_OTLP_ENDPOINT`) are set: the
   `otel` callback reuses our provider and never builds that exporter. One warning for
   `LITELLM_OTEL_V2=true`, whose logger ignores the global provider.
3. Drains LiteLLM's async logging worker before our processor shuts down (an atexit hook
   registered after the provider's, so it runs first, and in `handle.shutdown`/`force_flush`),
   so the last `acompletion` before exit is not lost.
4. Registers our `CustomLogger` (callback.py) once LiteLLM is imported: now if it already is,
   else from a one-shot import hook, so `configure()` never pays LiteLLM's import time.
"""

from __future__ import annotations

import asyncio
import atexit
import importlib.abc
import importlib.util
import logging
import os
import sys
import threading
from collections.abc import Callable
from typing import Any

logger = logging.getLogger("honeyhive_otel")

REQUEST_SPAN_ENV = "USE_OTEL_LITELLM_REQUEST_SPAN"
LITELLM_EXPORTER_ENV = ("OTEL_EXPORTER", "OTEL_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
WORKER_MODULE = "litellm.litellm_core_utils.logging_worker"

_lock = threading.RLock()
_state: dict[str, Any] = {"handle": None, "warned": set(), "atexit": False, "finder": None}


def install(handle: Any) -> None:
    """Hook LiteLLM into `handle`'s pipeline; safe to call more than once."""
    try:
        if handle is None or not getattr(handle, "enabled", False) or not litellm_available():
            return
        with _lock:
            os.environ.setdefault(REQUEST_SPAN_ENV, "true")
            _state["handle"] = handle
            _warn_bypassed_exporter(handle)
            _warn_v2()
            _wrap_handle(handle)
            if not _state["atexit"]:
                atexit.register(drain_logging_worker)
                _state["atexit"] = True
            if _litellm_imported():
                _register_callback()
            else:
                _install_import_hook()
    except Exception:  # noqa: BLE001 - configure() must never fail because of LiteLLM
        logger.debug("honeyhive-otel: LiteLLM hooks not installed", exc_info=True)


def litellm_available() -> bool:
    if "litellm" in sys.modules:
        return True
    try:
        return importlib.util.find_spec("litellm") is not None
    except (ImportError, ValueError):
        return False


def _litellm_imported() -> bool:
    module = sys.modules.get("litellm")
    return module is not None and hasattr(module, "logging_callback_manager")


def _warn_once(key: str, message: str, *args: Any) -> None:
    if key in _state["warned"]:
        return
    _state["warned"].add(key)
    logger.warning(message, *args)


def _warn_bypassed_exporter(handle: Any) -> None:
    """LiteLLM builds its own exporter only when it creates the provider; we created it."""
    if not getattr(handle, "installed_provider", False):
        return
    configured = [f"{name}={os.environ[name]}" for name in LITELLM_EXPORTER_ENV if os.environ.get(name)]
    if configured:
        _warn_once(
            "exporter",
            "honeyhive-otel: %s is set, but LiteLLM's 'otel' callback reuses the TracerProvider that "
            "honeyhive_otel.configure() installed and will not build that exporter, so LiteLLM spans go to "
            "HoneyHive only. To keep the other export, add its span processor to handle.provider, or create "
            "your TracerProvider (with that exporter) before calling configure().",
            ", ".join(configured),
        )


def _warn_v2() -> None:
    if os.environ.get("LITELLM_OTEL_V2", "").strip().lower() in ("1", "true", "yes", "on"):
        _warn_once(
            "v2",
            "honeyhive-otel: LITELLM_OTEL_V2 is set. LiteLLM's v2 OpenTelemetry logger builds a private "
            "TracerProvider and ignores the global one, so litellm.callbacks=['otel'] sends nothing to "
            "HoneyHive. Unset LITELLM_OTEL_V2, or see docs/litellm.md for injecting our provider.",
        )


# ----- draining LiteLLM's async logging worker ----------------------------------------
def drain_logging_worker() -> None:
    """Run the success/failure callbacks LiteLLM still has queued, if that can be done here.

    It cannot while an event loop runs in this thread (blocking it would deadlock) or while
    another thread's loop owns the queue; then the callbacks stay with that loop.
    """
    try:
        module = sys.modules.get(WORKER_MODULE)
        worker = getattr(module, "GLOBAL_LOGGING_WORKER", None)
        flush = getattr(worker, "_flush_on_exit", None)
        if worker is None or not callable(flush):
            return
        try:
            asyncio.get_running_loop()
            return
        except RuntimeError:
            pass
        bound = getattr(worker, "_bound_loop", None)
        if bound is not None and not bound.is_closed() and bound.is_running():
            return
        previous = _thread_event_loop()
        try:
            flush()
        finally:
            _restore_event_loop(previous)
    except Exception:  # noqa: BLE001 - exit paths must never raise
        logger.debug("honeyhive-otel: draining LiteLLM's logging worker failed", exc_info=True)


def _thread_event_loop() -> Any:
    """The loop set for this thread, without creating one (LiteLLM's flush replaces it)."""
    local = getattr(asyncio.get_event_loop_policy(), "_local", None)
    return getattr(local, "_loop", None)


def _restore_event_loop(loop: Any) -> None:
    try:
        asyncio.set_event_loop(loop)
    except Exception:  # noqa: BLE001
        logger.debug("could not restore the thread's event loop", exc_info=True)


def _wrap_handle(handle: Any) -> None:
    """`handle.shutdown()`/`force_flush()` drain LiteLLM first, so they see its last spans."""
    if getattr(handle, "_litellm_drain", False):
        return
    shutdown: Callable[..., Any] = handle.shutdown
    force_flush: Callable[..., Any] = handle.force_flush

    def shutdown_after_drain(timeout_millis: int = 30_000) -> None:
        drain_logging_worker()
        shutdown(timeout_millis)

    def flush_after_drain(timeout_millis: int = 30_000) -> bool:
        drain_logging_worker()
        return bool(force_flush(timeout_millis))

    handle.shutdown = shutdown_after_drain
    handle.force_flush = flush_after_drain
    handle._litellm_drain = True


# ----- registering our callback ----------------------------------------------------
def _register_callback() -> None:
    from .callback import register

    register(_state["handle"])


def on_litellm_imported() -> None:
    with _lock:
        finder = _state.get("finder")
        if finder is not None:
            _remove_finder(finder)
        if _state["handle"] is not None:
            try:
                _register_callback()
            except Exception:  # noqa: BLE001
                logger.debug("honeyhive-otel: registering the LiteLLM callback failed", exc_info=True)


def _install_import_hook() -> None:
    if _state["finder"] is None:
        finder = _LiteLLMImportHook()
        _state["finder"] = finder
        sys.meta_path.insert(0, finder)


def _remove_finder(finder: Any) -> None:
    _state["finder"] = None
    try:
        sys.meta_path.remove(finder)
    except ValueError:
        pass


class _LoaderProxy:
    """Delegates to LiteLLM's real loader; calls back once the module finished executing."""

    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)

    def create_module(self, spec: Any) -> Any:
        return self._loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        try:
            self._loader.exec_module(module)
        finally:
            spec = getattr(module, "__spec__", None)
            if spec is not None and spec.loader is self:
                spec.loader = self._loader
            if getattr(module, "__loader__", None) is self:
                module.__loader__ = self._loader
        on_litellm_imported()


class _LiteLLMImportHook(importlib.abc.MetaPathFinder):
    """A one-shot post-import hook for the top-level `litellm` package."""

    def __init__(self) -> None:
        self._busy = threading.local()

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != "litellm" or getattr(self._busy, "active", False):
            return None
        self._busy.active = True
        try:
            spec = importlib.util.find_spec(fullname)
        except (ImportError, ValueError):
            return None
        finally:
            self._busy.active = False
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return None
        spec.loader = _LoaderProxy(spec.loader)
        return spec
