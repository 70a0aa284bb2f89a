"""Issue 9 item 5: LogiFlow on a broker that wants SASL over TLS.

A separate local broker (its own home and ports: LOGIFLOW_TEST_SASL_PORT, else a free block of
three) gets an extra SASL_SSL listener with SCRAM and PLAIN users and a certificate from a CA
made here with openssl. The pipeline works with the right credentials; a wrong password or an
untrusted certificate stops the worker, `logiflow send` and `logiflow dlq list` at once with a
message that names the problem, and no password is ever printed.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from logiflow.kafka.admin import read_to_end
from logiflow.kafka.nodes import SaslSslListener
from logiflow.kafka.security import client_kwargs
from logiflow.settings import Settings
from tests.conftest import ARTIFACTS
from tests.harness import BIN, Worker, isolated_env, run_sync, wait_for
from tests.integration.local_brokers import local_kafka, port_block
from tests.integration.scenarios import pdf_text, route_requests
from tests.integration.tls import Pki, make_pki

pytestmark = pytest.mark.integration

ALICE = "alice-" + secrets.token_hex(8)  # SCRAM-SHA-512
BOB = "bob-" + secrets.token_hex(8)      # PLAIN
# Commands that cannot authenticate must say so within this; a hang fails the test.
PROMPTLY_S = 30


class Secured:
    def __init__(self, address: str, pki: Pki) -> None:
        self.address = address
        self.pki = pki

    def env(self, root: Path, name: str, **overrides: str) -> dict[str, str]:
        env = {"LOGIFLOW_BROKER": f"kafka://{self.address}", "LOGIFLOW_SECURITY_PROTOCOL": "SASL_SSL",
               "LOGIFLOW_SASL_MECHANISM": "SCRAM-SHA-512", "LOGIFLOW_SASL_USERNAME": "alice",
               "LOGIFLOW_SASL_PASSWORD": ALICE, "LOGIFLOW_SSL_CAFILE": str(self.pki.ca_cert)}
        env.update(overrides)
        return isolated_env(root, name, **env)


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secured]:
    root = tmp_path_factory.mktemp("secured")
    pki = make_pki(root / "pki")
    base = port_block(3, "LOGIFLOW_TEST_SASL_PORT")
    listener = SaslSslListener(base + 2, pki.keystore, pki.keystore_password, {"alice": ALICE, "bob": BOB})
    artifacts = ARTIFACTS / "secured-broker"
    artifacts.mkdir(parents=True, exist_ok=True)
    with local_kafka(root / "kafka", artifacts, base, base + 1) as kafka:
        status = kafka.start(sasl_ssl=listener)
        assert status.up and status.nodes[0].sasl_ssl_address == f"127.0.0.1:{base + 2}"
        yield Secured(f"127.0.0.1:{base + 2}", pki)


def _produce(env: dict[str, str], topic: str, records: list[tuple[bytes, bytes]]) -> None:
    async def run() -> None:
        settings = Settings.from_env(env)
        producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks="all",
                                    **client_kwargs(settings))
        await producer.start()
        try:
            for key, value in records:
                await producer.send_and_wait(topic, value, key=key)
        finally:
            await producer.stop()

    run_sync(run())


def _read(env: dict[str, str], topic: str) -> list[Any]:
    settings = Settings.from_env(env)
    return run_sync(read_to_end(settings.bootstrap_servers, topic, 20, client_kwargs(settings)))


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``logiflow <args>``; must finish within PROMPTLY_S (TimeoutExpired fails the test)."""
    return subprocess.run([str(BIN / "logiflow"), *args], env=env, text=True, capture_output=True,
                          timeout=PROMPTLY_S, check=False, stdin=subprocess.DEVNULL)


def _assert_no_secret(*texts: str) -> None:
    for text in texts:
        assert ALICE not in text and BOB not in text


def test_a_worker_with_scram_credentials_over_tls_invoices_a_route_request_end_to_end(
        secured: Secured, tmp_path: Path, artifacts: Path) -> None:
    env = secured.env(tmp_path, "sasl")
    w = Worker(env, artifacts / "worker.log").start()
    [(key, value)] = route_requests(1, trucks=1)
    _produce(env, w.topic("routing.requests"), [(key, value), (b"TR-000", b"{not json")])

    invoices = wait_for(lambda: _read(env, w.topic("invoice.events")), 90, "an InvoiceGenerated")
    invoice = json.loads(invoices[0].value)
    assert invoice["truckId"] == json.loads(value)["truckId"]
    assert invoice["invoiceNumber"] in pdf_text(invoice["pdfPath"])
    wait_for(lambda: _read(env, w.topic("logiflow.dlq")), 60, "the poison request in the DLQ")

    listed = w.cli("dlq", "list", "--json")  # the DLQ command over SASL_SSL
    [entry] = [json.loads(line) for line in listed.stdout.splitlines() if line.strip()]
    assert (entry["truckId"], entry["sourceTopic"]) == ("TR-000", w.topic("routing.requests"))
    as_bob = {**env, "LOGIFLOW_SASL_MECHANISM": "PLAIN", "LOGIFLOW_SASL_USERNAME": "bob",
              "LOGIFLOW_SASL_PASSWORD": BOB}
    sent = _run(as_bob, "send", w.topic("plain-check"), "--key", "k", "sent as bob")
    assert sent.returncode == 0, sent.stderr
    assert [m.value for m in _read(as_bob, w.topic("plain-check"))] == [b"sent as bob"]
    health = json.loads(urllib.request.urlopen(f"{w.web}/api/health", timeout=10).read())
    assert health["broker"]["reachable"] is True and health["broker"]["error"] is None
    page = urllib.request.urlopen(f"{w.web}/", timeout=10).read().decode()

    assert w.stop() == 0
    _assert_no_secret(w.log_text(), listed.stdout, listed.stderr, sent.stdout, sent.stderr,
                      json.dumps(health), page)


@pytest.mark.parametrize("command", [("worker", "-l", "info"), ("send", "routing.requests", "{}"),
                                     ("dlq", "list")])
def test_a_wrong_password_is_an_authentication_error_at_start_not_a_hang(
        secured: Secured, tmp_path: Path, command: tuple[str, ...]) -> None:
    wrong = "wrong-" + secrets.token_hex(8)
    result = _run(secured.env(tmp_path, "wrong", LOGIFLOW_SASL_PASSWORD=wrong), *command)
    out = result.stdout + result.stderr
    assert result.returncode != 0, out
    assert "authentication failed" in out.lower() and "LOGIFLOW_SASL_PASSWORD" in out, out
    assert "user 'alice'" in out
    assert wrong not in out
    _assert_no_secret(out)


@pytest.mark.parametrize("command", [("worker", "-l", "info"), ("dlq", "list")])
def test_a_broker_certificate_from_an_untrusted_ca_is_a_clear_tls_error_not_a_hang(
        secured: Secured, tmp_path: Path, command: tuple[str, ...]) -> None:
    env = secured.env(tmp_path, "untrusted", LOGIFLOW_SSL_CAFILE=str(secured.pki.other_ca_cert))
    result = _run(env, *command)
    out = result.stdout + result.stderr
    assert result.returncode != 0, out
    assert "certificate of the broker" in out and "not trusted" in out and "LOGIFLOW_SSL_CAFILE" in out, out
    _assert_no_secret(out)


def test_security_settings_that_cannot_work_are_refused_before_connecting(
        secured: Secured, tmp_path: Path) -> None:
    env = secured.env(tmp_path, "half", LOGIFLOW_SASL_PASSWORD="")
    result = _run(env, "worker", "-l", "info")
    assert result.returncode == 2
    assert "configuration error" in result.stderr and "LOGIFLOW_SASL_PASSWORD" in result.stderr
