"""Security settings: validation that names the variable, what each client gets, no secret shown.

Connecting to a real SASL_SSL listener is tests/integration/test_secured_broker.py.
"""

from __future__ import annotations

import asyncio
import ssl
import subprocess
from pathlib import Path

import faust
import pytest

from logiflow.errors import ConfigError
from logiflow.kafka.security import check_connection, client_kwargs, faust_credentials
from logiflow.settings import Settings

SASL = {"LOGIFLOW_SECURITY_PROTOCOL": "SASL_SSL", "LOGIFLOW_SASL_USERNAME": "alice",
        "LOGIFLOW_SASL_PASSWORD": "s3cret-pw"}


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("ca")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=unit-ca", "-keyout", str(folder / "ca.key"),
                    "-out", str(folder / "ca.pem")],
                   check=True, capture_output=True)
    return folder / "ca.pem"


def test_plaintext_is_the_default_and_adds_nothing_but_the_protocol():
    s = Settings.from_env({})
    assert client_kwargs(s) == {"security_protocol": "PLAINTEXT"}
    assert faust_credentials(s) is None


def test_sasl_ssl_gives_aiokafka_the_mechanism_the_user_and_a_verifying_tls_context(ca):
    s = Settings.from_env({**SASL, "LOGIFLOW_SSL_CAFILE": str(ca)})
    kwargs = client_kwargs(s)
    assert kwargs["security_protocol"] == "SASL_SSL"
    assert kwargs["sasl_mechanism"] == "SCRAM-SHA-512"  # the default mechanism
    assert (kwargs["sasl_plain_username"], kwargs["sasl_plain_password"]) == ("alice", "s3cret-pw")
    context = kwargs["ssl_context"]
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert any(c["subject"] == ((("commonName", "unit-ca"),),) for c in context.get_ca_certs())


def test_faust_gets_the_same_credentials(ca):
    creds = faust_credentials(Settings.from_env({**SASL, "LOGIFLOW_SASL_MECHANISM": "PLAIN",
                                                 "LOGIFLOW_SSL_CAFILE": str(ca)}))
    assert isinstance(creds, faust.SASLCredentials)
    assert (creds.protocol.value, creds.mechanism.value, creds.username) == ("SASL_SSL", "PLAIN", "alice")
    assert creds.ssl_context is not None and "s3cret-pw" not in repr(creds)
    plain = faust_credentials(Settings.from_env({**SASL, "LOGIFLOW_SECURITY_PROTOCOL": "SASL_PLAINTEXT"}))
    assert isinstance(plain, faust.SASLCredentials) and plain.protocol.value == "SASL_PLAINTEXT"
    tls = faust_credentials(Settings.from_env({"LOGIFLOW_SECURITY_PROTOCOL": "SSL"}))
    assert isinstance(tls, faust.SSLCredentials)


def test_no_password_or_api_token_appears_in_the_settings_repr():
    s = Settings.from_env({**SASL, "LOGIFLOW_API_TOKEN": "tok-123456"})
    for text in (repr(s), str(s), f"{s}"):
        assert "s3cret-pw" not in text and "tok-123456" not in text
        assert "sasl_password=***" in text and "sasl_username='alice'" in text
    assert "sasl_password=''" in repr(Settings())  # an empty one is shown as empty


@pytest.mark.parametrize(("env", "names"), [
    ({"LOGIFLOW_SECURITY_PROTOCOL": "TLS"}, "LOGIFLOW_SECURITY_PROTOCOL"),
    ({**SASL, "LOGIFLOW_SASL_MECHANISM": "GSSAPI"}, "LOGIFLOW_SASL_MECHANISM"),
    ({**SASL, "LOGIFLOW_SASL_PASSWORD": ""}, "LOGIFLOW_SASL_PASSWORD"),
    ({**SASL, "LOGIFLOW_SASL_USERNAME": ""}, "LOGIFLOW_SASL_USERNAME"),
    ({"LOGIFLOW_SASL_USERNAME": "alice", "LOGIFLOW_SASL_PASSWORD": "x"}, "LOGIFLOW_SECURITY_PROTOCOL"),
    ({"LOGIFLOW_SSL_CAFILE": "/etc/hostname"}, "LOGIFLOW_SECURITY_PROTOCOL"),
    ({**SASL, "LOGIFLOW_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "LOGIFLOW_SSL_CAFILE": "/etc/hostname"},
     "LOGIFLOW_SSL_CAFILE"),
    ({**SASL, "LOGIFLOW_SSL_CAFILE": "/no/such/ca.pem"}, "LOGIFLOW_SSL_CAFILE"),
    ({**SASL, "LOGIFLOW_SSL_KEYFILE": "/etc/hostname"}, "LOGIFLOW_SSL_CERTFILE"),
])
def test_security_settings_that_cannot_work_are_config_errors_naming_the_variable(env, names):
    with pytest.raises(ConfigError, match=names) as caught:
        Settings.from_env(env)
    assert "s3cret-pw" not in str(caught.value)


def test_a_ca_file_that_is_not_pem_is_a_config_error_naming_it():
    with pytest.raises(ConfigError, match="LOGIFLOW_SSL_CAFILE"):
        client_kwargs(Settings.from_env({**SASL, "LOGIFLOW_SSL_CAFILE": "/etc/hostname"}))


def test_the_connection_check_leaves_plaintext_and_unreachable_brokers_to_the_clients():
    # Plaintext: nothing to check. Nobody listening: not a credentials problem, the clients wait.
    asyncio.run(check_connection("127.0.0.1:1", {"security_protocol": "PLAINTEXT"}))
    asyncio.run(check_connection("127.0.0.1:1", client_kwargs(Settings.from_env(SASL)), timeout_s=2))
