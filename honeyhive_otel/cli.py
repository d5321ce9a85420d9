"""`honeyhive-otel`: developer tools.

- `doctor`: is the configuration complete, is the server reachable, does a test event
  arrive, are the installed instrumentation versions sane (known-bad LiteLLM flagged)?
- `convert FILE`: spans from a file (Collector file exporter OTLP JSON, or the SDK's
  `ConsoleSpanExporter` output) -> the HoneyHive events this package would send, as JSON;
  `--explain` says which attribute fed which field; `--format tree` draws the sessions.
- `relay`: an OTLP/HTTP receiver that exports to HoneyHive (:mod:`honeyhive_otel.relay`).
- `devserver`: the local HoneyHive API server with its web viewer (:mod:`honeyhive_otel.devserver`).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Sequence
from importlib import metadata
from typing import Any, TextIO

import requests

from . import config as cfg
from .version import __version__

DOCTOR_SESSION_NAME = "honeyhive-otel doctor"
DOCTOR_EVENT_NAME = "honeyhive-otel doctor test event"
# Distributions whose versions matter for mapping; openinference-* are found by prefix.
WATCHED_DISTRIBUTIONS = (
    "honeyhive-otel", "opentelemetry-api", "opentelemetry-sdk", "opentelemetry-proto", "litellm", "openlit",
    "traceloop-sdk", "opentelemetry-instrumentation-openai", "opentelemetry-instrumentation-openai-v2", "openai",
)


# ----------------------------------------------------------------------------- doctor
class _Report:
    """Check lines on a stream and a failure count; the API key never goes through here."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.failures = 0
        self.warnings = 0

    def line(self, status: str, text: str) -> None:
        if status == "FAIL":
            self.failures += 1
        elif status == "warn":
            self.warnings += 1
        print(f"[{status:>4}] {text}", file=self.out, flush=True)


def known_bad_version(name: str, version: str) -> str | None:
    """Why an installed version must not be used, or None."""
    if name.lower() != "litellm":
        return None
    if version in ("1.82.7", "1.82.8"):
        return ("compromised release (malicious code was published under this version): uninstall it now, "
                "install a clean release (>=1.83) and rotate every credential the environment could reach")
    if version == "1.107" or version.startswith("1.107."):
        return "1.107.x was never published on PyPI: this build is not an official release; reinstall from PyPI"
    return None


def installed_versions() -> dict[str, str]:
    """Versions of the watched distributions (and every openinference-*) that are installed."""
    found: dict[str, str] = {}
    for name in WATCHED_DISTRIBUTIONS:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    for dist in metadata.distributions():
        name = (dist.metadata.get("Name") or "").lower()
        if name.startswith("openinference-") and name not in found:
            found[name] = dist.version
    return found


def _key_hint(key: str) -> str:
    return f"set (…{key[-4:]})" if len(key) >= 16 else "set"


def _origin(explicit: str | None, names: Sequence[str]) -> str:
    if explicit:
        return "--server-url"
    for name in names:
        if cfg.env(name):
            return name
    return "default"


def doctor(args: argparse.Namespace, out: TextIO) -> int:
    report = _Report(out)
    print(f"honeyhive-otel {__version__} doctor", file=out)
    server_url = cfg.resolve_server_url(args.server_url)
    url_names = ("HONEYHIVE_SERVER_URL", "HH_API_URL", "HH_SERVER_URL")
    key_names = ("HONEYHIVE_API_KEY", "HH_API_KEY", "HH_INGESTION_API_KEY")
    api_key = cfg.resolve_api_key(None)
    report.line("ok", f"server URL: {server_url} (from {_origin(args.server_url, url_names)})")
    local = cfg.is_local(server_url)
    if api_key:
        report.line("ok", f"API key: {_key_hint(api_key)} (from {_origin(None, key_names)})")
    elif local:
        report.line("ok", "API key: not set (not needed for a local server)")
    try:
        cfg.validate_endpoint(server_url, api_key)
        configured = True
    except cfg.ConfigurationError as error:
        report.line("FAIL", f"configuration: {error}")
        configured = False
    devserver = _check_reachable(server_url, args.timeout, report) if configured else None
    if configured and devserver is not None and not args.no_send:
        _round_trip(server_url, api_key, args.timeout, devserver, report)
    elif args.no_send:
        report.line("info", "test event: skipped (--no-send)")
    _check_versions(report)
    if report.failures:
        print(f"{report.failures} problem(s) found", file=out)
        return 1
    print("all checks passed" + (f" ({report.warnings} warning(s))" if report.warnings else ""), file=out)
    return 0


def _check_reachable(server_url: str, timeout: float, report: _Report) -> bool | None:
    """None when unreachable; else whether the server is a honeyhive-otel devserver."""
    started = time.monotonic()
    try:
        response = requests.get(f"{server_url}/health", timeout=timeout)
    except requests.RequestException as error:
        report.line("FAIL", f"server reachable: no ({_reason(error)})")
        return None
    elapsed = (time.monotonic() - started) * 1000
    devserver = "devserver" in response.headers.get("Server", "")
    kind = "honeyhive-otel devserver" if devserver else "HTTP server"
    report.line("ok", f"server reachable: {kind} answered HTTP {response.status_code} in {elapsed:.0f} ms")
    return devserver


def _reason(error: Exception) -> str:
    """A short cause for a failed request (`requests` nests the useful part deep in its message)."""
    match = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", str(error))
    if match:
        return f"{type(error).__name__}: {match.group(1).strip()}"
    return f"{type(error).__name__}: {str(error)[:160]}"


def _round_trip(server_url: str, api_key: str | None, timeout: float, devserver: bool, report: _Report) -> None:
    """Export one clearly named span through the real exporter; read it back from a devserver."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from .exporter import HoneyHiveSpanExporter
    from .ids import event_id_for

    exporter = HoneyHiveSpanExporter(api_key=api_key, server_url=server_url, session_name=DOCTOR_SESSION_NAME,
                                     source="honeyhive-otel-doctor", merge_window=0.0, timeout=timeout)
    provider = TracerProvider(resource=Resource.create({"service.name": "honeyhive-otel-doctor"}))
    captured = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(captured))
    tracer = provider.get_tracer("honeyhive_otel.doctor", __version__)
    with tracer.start_as_current_span(DOCTOR_EVENT_NAME, attributes={
            "honeyhive_metadata.purpose": "connectivity check by `honeyhive-otel doctor`; safe to delete",
            "input.value": "ping"}) as span:
        span.set_attribute("output.value", "pong")
        context = span.get_span_context()
    exporter.export(list(captured.get_finished_spans()))
    exporter.shutdown(int(timeout * 1000))
    stats = exporter.stats.snapshot()
    event_id = event_id_for(context.trace_id, context.span_id)
    session_id = exporter.sessions.default_session_id
    if stats["events_exported"] != 1 or stats["sessions_created"] != 1:
        report.line("FAIL", f"test event: not accepted ({stats['last_error'] or stats['dropped']})")
        return
    report.line("ok", f"test event: session {session_id} and event {DOCTOR_EVENT_NAME!r} ({event_id}) accepted")
    if not devserver:
        report.line("info", f"look for session {DOCTOR_SESSION_NAME!r} (source honeyhive-otel-doctor) in HoneyHive")
        return
    try:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        response = requests.get(f"{server_url}/v1/events/{event_id}", headers=headers, timeout=timeout)
        stored = response.json().get("event") if response.status_code == 200 else None
    except (requests.RequestException, ValueError) as error:
        stored, response = None, error
    if isinstance(stored, dict) and stored.get("event_name") == DOCTOR_EVENT_NAME \
            and stored.get("session_id") == session_id:
        report.line("ok", "read back from the devserver: the stored event matches")
    else:
        report.line("FAIL", f"read back from the devserver: event {event_id} not found ({response})")


def _check_versions(report: _Report) -> None:
    versions = installed_versions()
    for name, version in versions.items():
        problem = known_bad_version(name, version)
        if problem:
            report.line("FAIL", f"{name} {version}: {problem}")
        else:
            report.line("ok", f"{name} {version}")
    for name in ("litellm", "openlit", "traceloop-sdk", "opentelemetry-proto"):
        if name not in versions:
            report.line("info", f"{name}: not installed")
    if not any(name.startswith("openinference-") for name in versions):
        report.line("info", "openinference-*: not installed")


# ----------------------------------------------------------------------------- convert
def convert(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from . import otlp
    from .coalesce import Coalescer
    from .mapping import MappingOptions, SpanMapper
    from .sessions import SessionResolver

    try:
        text = sys.stdin.read() if args.file == "-" else open(args.file, encoding="utf-8-sig").read()
        spans = otlp.spans_from_text(text)
    except OSError as error:
        print(f"honeyhive-otel convert: cannot read {args.file}: {error.strerror or error}", file=err)
        return 2
    except otlp.OTLPError as error:
        print(f"honeyhive-otel convert: {args.file}: {error}", file=err)
        return 2
    mode = args.session_mode or ("process" if args.session_id else "trace")
    sessions = SessionResolver(session_id=args.session_id, session_name=args.session_name or "converted",
                               mode=mode)
    mapper = SpanMapper(MappingOptions(source=args.source, debug=args.explain), sessions)
    coalescer = Coalescer(window_s=60.0)
    mapped = [mapper.map(span) for span in spans]
    events = coalescer.add(mapped, now=0.0) + coalescer.drain()
    bodies = [event.to_request() for event in events]
    if args.explain:
        _explain(events, err if args.format == "json" else out)
    if args.format == "tree":
        from .tree import render_tree

        for session_id in dict.fromkeys(body["session_id"] for body in bodies):
            session_events = [body for body in bodies if body["session_id"] == session_id]
            first = next(event for event in events if event.session_id == session_id)
            session = first.session.to_request() if first.session else {"session_id": session_id}
            print(render_tree(session, session_events), file=out)
    else:
        json.dump(bodies, out, indent=2, ensure_ascii=False)
        out.write("\n")
    print(f"{len(spans)} spans -> {len(bodies)} events", file=err)
    return 0


def _explain(events: Sequence[Any], out: TextIO) -> None:
    """Per event: where each mapped field came from, and what stayed unmapped."""
    for event in events:
        otel = event.metadata.get("otel") or {}
        scope = otel.get("scope") or {}
        print(f"{event.event_name} [{event.event_type}] span {otel.get('span_id', '?')} "
              f"convention={otel.get('convention', '?')} scope={scope.get('name') or '-'} "
              f"{scope.get('version') or ''}".rstrip(), file=out)
        sources = otel.get("sources") or {}
        width = max((len(field) for field in sources), default=0)
        for field, source in sources.items():
            print(f"  {field:<{width}}  <- {source}", file=out)
        if not sources:
            print("  (no attribute mapped to a field)", file=out)
        unmapped = event.metadata.get("attributes") or {}
        if unmapped:
            print(f"  unmapped, kept in metadata.attributes: {', '.join(unmapped)}", file=out)
        if event.metadata.get("mapping_errors"):
            print(f"  mapping errors: {', '.join(event.metadata['mapping_errors'])}", file=out)
        print(file=out)


# ----------------------------------------------------------------------------- main
def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="honeyhive-otel", description="honeyhive-otel developer tools.")
    parser.add_argument("--version", action="version", version=f"honeyhive-otel {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    check = commands.add_parser("doctor", help="check configuration, connectivity and installed versions")
    check.add_argument("--server-url", default=None, help="server to check (else HONEYHIVE_SERVER_URL)")
    check.add_argument("--timeout", type=float, default=10.0, help="seconds per network step (default 10)")
    check.add_argument("--no-send", action="store_true", help="do not send the test session and event")

    conv = commands.add_parser("convert", help="OTLP JSON / ConsoleSpanExporter output -> HoneyHive events")
    conv.add_argument("file", help="file to read, '-' for standard input")
    conv.add_argument("--explain", action="store_true",
                      help="show which attribute fed which field (to stderr with JSON output)")
    conv.add_argument("--format", choices=("json", "tree"), default="json", help="output: events JSON or a tree")
    conv.add_argument("--source", default=None, help="event source (else the span's environment, production)")
    conv.add_argument("--session-id", default=None, help="session for spans that name none")
    conv.add_argument("--session-name", default=None, help="session name (default 'converted')")
    conv.add_argument("--session-mode", choices=("trace", "process"), default=None,
                      help="spans naming no session: one per trace (default) or one for the file")

    from . import relay

    relay.add_arguments(commands.add_parser("relay", help="OTLP/HTTP receiver that exports to HoneyHive"))
    commands.add_parser("devserver", help="local HoneyHive API server and web viewer (see devserver --help)",
                        add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; returns the exit code (0 success, 1 a check failed, 2 usage or input error)."""
    try:
        return _run(argv)
    except BrokenPipeError:  # `honeyhive-otel convert big.json | head`
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the interpreter's final flush
        except OSError:
            pass
        return 1


def _run(argv: Sequence[str] | None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list and args_list[0] == "devserver":
        from .devserver import main as devserver_main

        return devserver_main(args_list[1:])
    parser = _parser()
    args = parser.parse_args(args_list)
    if args.command == "doctor":
        return doctor(args, sys.stdout)
    if args.command == "convert":
        return convert(args, sys.stdout, sys.stderr)
    if args.command == "relay":
        from . import relay

        try:
            return relay.run(args)
        except (cfg.ConfigurationError, RuntimeError, OSError) as error:  # bad settings, port in use, no grpcio
            print(f"honeyhive-otel relay: {error}", file=sys.stderr)
            return 2
    parser.print_help()
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
