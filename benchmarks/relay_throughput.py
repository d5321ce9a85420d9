"""Relay throughput per core: OTLP/HTTP in, HoneyHive events out, one relay process.

    python benchmarks/relay_throughput.py [--spans 20000] [--batch 512] [--payload 2000] [--json]

The relay runs as `honeyhive-otel relay` in its own process and exports to the benchmark
sink (another process that answers 200 at once), so the figure is the relay's own cost:
decode + rebuild ReadableSpans + map + coalesce + encode + POST. The sender pre-encodes
requests (protobuf from the official OTLP encoder, or OTLP/JSON) and posts them from a few
threads. Reported: spans per second of wall time, and spans per CPU-second of the relay
process (user + system, from /proc), i.e. per core.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _sink import SinkProcess  # noqa: E402
from _spans import build_spans  # noqa: E402


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _payloads(spans: list, batch: int, as_json: bool) -> list[bytes]:
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    from tests.support.otlp_json import spans_to_otlp_json

    chunks = [spans[i:i + batch] for i in range(0, len(spans), batch)]
    if as_json:
        return [json.dumps(spans_to_otlp_json(chunk)).encode() for chunk in chunks]
    return [encode_spans(chunk).SerializeToString() for chunk in chunks]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=512, help="spans per OTLP request (the SDK default)")
    parser.add_argument("--payload", type=int, default=2_000, help="bytes of message JSON per span")
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument("--json", action="store_true", help="send OTLP/JSON instead of protobuf")
    args = parser.parse_args()

    spans = build_spans(min(args.spans, 2_000), args.payload)
    spans = (spans * (args.spans // len(spans) + 1))[: args.spans]  # same content, re-sent
    payloads = _payloads(spans, args.batch, args.json)
    content_type = "application/json" if args.json else "application/x-protobuf"
    with SinkProcess() as sink:
        relay = subprocess.Popen([sys.executable, "-m", "honeyhive_otel.cli", "relay", "--port", "0", "--quiet",
                                  "--server-url", sink.url, "--merge-window", "0.5"],
                                 stdout=subprocess.PIPE, text=True)
        try:
            url = relay.stdout.readline().split(" on ", 1)[1].split("/v1/traces", 1)[0]
            session = requests.Session()
            session.post(url + "/v1/traces", data=payloads[0], headers={"Content-Type": content_type}).raise_for_status()
            cpu0, wall0 = _cpu_seconds(relay.pid), time.perf_counter()
            failures: list[int] = []
            queue = list(range(len(payloads)))
            lock = threading.Lock()

            def send() -> None:
                own = requests.Session()
                while True:
                    with lock:
                        if not queue:
                            return
                        index = queue.pop()
                    answer = own.post(url + "/v1/traces", data=payloads[index],
                                      headers={"Content-Type": content_type}, timeout=60)
                    if answer.status_code != 200:
                        failures.append(answer.status_code)

            threads = [threading.Thread(target=send) for _ in range(args.senders)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            wall, cpu = time.perf_counter() - wall0, _cpu_seconds(relay.pid) - cpu0
            health = session.get(url + "/health").json()
        finally:
            relay.terminate()
            relay.wait(timeout=30)
    print(f"{'OTLP/JSON' if args.json else 'OTLP/protobuf'}: {args.spans} spans in {len(payloads)} requests "
          f"of {args.batch}, ~{args.payload} B of messages per span")
    print(f"  wall: {wall:.2f} s -> {args.spans / wall:,.0f} spans/s")
    print(f"  relay CPU: {cpu:.2f} s -> {args.spans / cpu:,.0f} spans per CPU-second (per core)")
    print(f"  non-200 answers: {len(failures)}; relay dropped: {health['dropped_total']}")
    return 0 if not failures else 1


if __name__ == "__main__":
    raise SystemExit(main())
