"""The LiteLLM integration's pure parts: redaction, steering, the bounded context store, hooks' guards.

These need no LiteLLM call; the behaviour through real LiteLLM is in the other test_litellm_* files.
"""

from __future__ import annotations

import asyncio
import threading
import time

from honeyhive_otel.litellm import hooks, secrets, steering
from honeyhive_otel.litellm.context import FAILURE, SUCCESS, ContextStore, pick_attempt
from honeyhive_otel.pipeline import Handle


# ----- secrets ----------------------------------------------------------------------
def test_redact_drops_credential_fields_and_masks_raw_keys() -> None:
    value = {
        "headers": {"Authorization": "Bearer sk-abc123456789", "Cookie": "a=b", "x-api-key": "k",
                    "api-key": "k2", "user-agent": "curl/8"},
        "custom": "key is sk-live-0123456789abcdef here",
        "list": ["Bearer abcdefghijklmnop", {"API_KEY": "x"}],
        "user_api_key_hash": "e125c17718a154f30f802a1b434c10911a25d6de7349173466e1ecca5e212491",
    }
    clean = secrets.redact(value)
    assert clean["headers"] == {"user-agent": "curl/8"}
    assert clean["custom"] == "key is [redacted] here"
    assert clean["list"] == ["Bearer [redacted]", {}]
    assert clean["user_api_key_hash"] == value["user_api_key_hash"]  # hashes are fine to export


def test_redact_keeps_ordinary_words() -> None:
    assert secrets.redact_text("a basic example of desk-top use") == "a basic example of desk-top use"


# ----- steering ---------------------------------------------------------------------
def test_headers_win_over_body_metadata() -> None:
    wanted = steering.from_request(
        {"session_id": "body-session", "user_id": "body-user", "tenant": "acme", "headers": {"host": "x"},
         "trace_id": "abc", "generation_name": "gen"},
        {"X-HoneyHive-Session-Id": "header-session", "x-honeyhive-metadata-cost-center": "cc-9",
         "x-honeyhive-metadata-flags": '{"beta": true}', "x-other": "v"},
    )
    assert wanted.session_id == "header-session"
    assert wanted.user_id == "body-user"
    assert wanted.metadata == {"cost_center": "cc-9", "flags": {"beta": True}, "tenant": "acme"}


def test_body_metadata_skips_litellm_keys_and_objects() -> None:
    wanted = steering.from_body({"honeyhive_session_id": "s1", "session_id": "s0", "feature": "search",
                                 "model_group": "g", "_otel_internal": {}, "user_api_key_hash": "h",
                                 "span": object(), "token": "sk-abcdef123456"})
    assert wanted.session_id == "s1"
    assert wanted.metadata == {"feature": "search", "token": "[redacted]"}


def test_custom_headers_drop_honeyhive_and_sdk_noise() -> None:
    headers = {"x-honeyhive-user-id": "u", "x-stainless-os": "Linux", "x-team": "t"}
    assert steering.custom_headers(headers) == {"x-team": "t"}


# ----- context store ----------------------------------------------------------------
def test_store_is_bounded_and_expires() -> None:
    store = ContextStore(max_entries=10, ttl_s=0.05)
    for index in range(50):
        store.record_call(f"call-{index}", session_id=str(index))
    assert len(store.calls) == 10
    assert store.call("call-0") is None
    assert store.call("call-49")["shared"]["session_id"] == "49"
    time.sleep(0.1)
    assert store.call("call-49") is None


def test_attempts_are_numbered_per_logical_request_across_threads() -> None:
    store = ContextStore()
    numbers: list[int] = []
    lock = threading.Lock()

    def attempt(index: int) -> None:
        number = store.begin_attempt(f"call-{index}", "trace-1", model_group="g")
        store.finish_attempt(f"call-{index}", "trace-1", SUCCESS, deployment_id="d")
        with lock:
            numbers.append(number)

    threads = [threading.Thread(target=attempt, args=(index,)) for index in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(numbers) == list(range(1, 41))


def test_once_is_exactly_once_across_threads() -> None:
    store = ContextStore()
    wins: list[bool] = []
    threads = [threading.Thread(target=lambda: wins.append(store.once("call", "emit"))) for _ in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wins.count(True) == 1


def test_one_call_id_with_several_attempts_like_the_proxy() -> None:
    """The proxy reuses one call id for a request's fallback: each span finds its own attempt."""
    store = ContextStore()
    store.begin_attempt("call", "trace", model_group="broken-group", deployment_id="deploy-broken")
    store.finish_attempt("call", "trace", FAILURE, deployment_id="deploy-broken")
    store.finish_attempt("call", "trace", FAILURE, deployment_id="deploy-broken")  # the same failure, fired twice
    store.begin_attempt("call", "trace", model_group="backup-group", deployment_id="deploy-backup")
    store.finish_attempt("call", "trace", SUCCESS, deployment_id="deploy-backup")
    entry = store.call("call")
    assert [item["attempt"] for item in entry["attempts"]] == [1, 2]
    failed = pick_attempt(entry, failed=True, model_group="broken-group")
    assert (failed["deployment_id"], failed["attempt"]) == ("deploy-broken", 1)
    succeeded = pick_attempt(entry, failed=False, model_group="backup-group", deployment_id="deploy-backup")
    assert succeeded["attempt"] == 2
    assert pick_attempt(entry, number=1)["status"] == FAILURE
    assert pick_attempt(None) == {}


# ----- hooks' guards ----------------------------------------------------------------
def test_install_ignores_disabled_handles() -> None:
    hooks.install(None)
    hooks.install(Handle())  # OTEL_SDK_DISABLED's handle: nothing to hook


def test_drain_never_blocks_a_running_loop() -> None:
    async def inside_loop() -> float:
        started = time.monotonic()
        hooks.drain_logging_worker()
        return time.monotonic() - started

    assert asyncio.run(inside_loop()) < 1.0
