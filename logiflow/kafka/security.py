"""Connecting to a secured Kafka: SASL (PLAIN, SCRAM-SHA-256/512) and/or TLS, from settings.

One place turns ``LOGIFLOW_SECURITY_PROTOCOL``, ``LOGIFLOW_SASL_*`` and ``LOGIFLOW_SSL_*`` into
what each client takes: Faust's ``broker_credentials`` (:func:`faust_credentials`) and the
keyword arguments of every aiokafka client the package makes (:func:`client_kwargs`).
:func:`check_connection` tells a wrong password or an untrusted certificate apart from a broker
that is merely down, in seconds, before anything retries forever.

The password never leaves these objects: no message here or in :class:`~logiflow.settings.Settings`'
repr contains it.
"""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path
from typing import TYPE_CHECKING, Any

from logiflow.errors import ConfigError

if TYPE_CHECKING:
    from faust.types.auth import CredentialsT

    from logiflow.settings import Settings

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_SSL", "SASL_PLAINTEXT")
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
_FILES = {"ssl_cafile": "LOGIFLOW_SSL_CAFILE", "ssl_certfile": "LOGIFLOW_SSL_CERTFILE",
          "ssl_keyfile": "LOGIFLOW_SSL_KEYFILE"}


def uses_sasl(settings: Settings) -> bool:
    return settings.security_protocol.startswith("SASL_")


def uses_tls(settings: Settings) -> bool:
    return settings.security_protocol in ("SSL", "SASL_SSL")


def validate(settings: Settings) -> None:
    """Reject security settings that could only fail at the first connection."""
    protocol = settings.security_protocol
    if protocol not in PROTOCOLS:
        raise ConfigError(f"LOGIFLOW_SECURITY_PROTOCOL must be one of {', '.join(PROTOCOLS)}, "
                          f"got {protocol!r}")
    if settings.sasl_mechanism not in MECHANISMS:
        raise ConfigError(f"LOGIFLOW_SASL_MECHANISM must be one of {', '.join(MECHANISMS)}, "
                          f"got {settings.sasl_mechanism!r}")
    has_credentials = bool(settings.sasl_username or settings.sasl_password)
    if uses_sasl(settings) and not (settings.sasl_username and settings.sasl_password):
        raise ConfigError(f"LOGIFLOW_SECURITY_PROTOCOL={protocol} needs LOGIFLOW_SASL_USERNAME and "
                          "LOGIFLOW_SASL_PASSWORD")
    if has_credentials and not uses_sasl(settings):
        raise ConfigError(f"LOGIFLOW_SASL_USERNAME/LOGIFLOW_SASL_PASSWORD are set but "
                          f"LOGIFLOW_SECURITY_PROTOCOL is {protocol}: set it to SASL_SSL (or SASL_PLAINTEXT)")
    files = {name: getattr(settings, name) for name in _FILES if getattr(settings, name)}
    if files and not uses_tls(settings):
        raise ConfigError(f"{', '.join(_FILES[n] for n in files)} set but LOGIFLOW_SECURITY_PROTOCOL "
                          f"is {protocol}: set it to SSL or SASL_SSL")
    if settings.ssl_keyfile and not settings.ssl_certfile:
        raise ConfigError("LOGIFLOW_SSL_KEYFILE needs LOGIFLOW_SSL_CERTFILE (the certificate it belongs to)")
    for name, value in files.items():
        if not Path(value).expanduser().is_file():
            raise ConfigError(f"{_FILES[name]}={value!r}: no such file")


def ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """The TLS context for SSL / SASL_SSL (verifies the broker's certificate and host name)."""
    if not uses_tls(settings):
        return None
    cafile = settings.ssl_cafile or None
    try:
        context = ssl.create_default_context(cafile=str(Path(cafile).expanduser()) if cafile else None)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"LOGIFLOW_SSL_CAFILE={cafile!r} is not a readable PEM CA file: {exc}") from exc
    if settings.ssl_certfile:
        keyfile = settings.ssl_keyfile or None
        try:
            context.load_cert_chain(str(Path(settings.ssl_certfile).expanduser()),
                                    str(Path(keyfile).expanduser()) if keyfile else None)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"LOGIFLOW_SSL_CERTFILE/LOGIFLOW_SSL_KEYFILE: cannot load the client "
                              f"certificate and its unencrypted key: {exc}") from exc
    return context


def client_kwargs(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for an aiokafka client (producer, consumer, admin, low-level client)."""
    kwargs: dict[str, Any] = {"security_protocol": settings.security_protocol}
    if uses_sasl(settings):
        kwargs.update(sasl_mechanism=settings.sasl_mechanism, sasl_plain_username=settings.sasl_username,
                      sasl_plain_password=settings.sasl_password)
    if uses_tls(settings):
        kwargs["ssl_context"] = ssl_context(settings)
    return kwargs


def faust_credentials(settings: Settings) -> CredentialsT | None:
    """Faust's ``broker_credentials`` for the same settings (None: plaintext)."""
    import faust

    if uses_sasl(settings):
        return faust.SASLCredentials(username=settings.sasl_username, password=settings.sasl_password,
                                     ssl_context=ssl_context(settings), mechanism=settings.sasl_mechanism)
    if uses_tls(settings):
        return faust.SSLCredentials(ssl_context(settings))
    return None


async def check_connection(bootstrap_servers: str, kwargs: dict[str, Any], timeout_s: float = 15.0) -> None:
    """Connect (and authenticate) to the bootstrap servers once; raise ConfigError on bad credentials.

    A wrong password, an unknown user or mechanism, or a certificate the CA file does not
    trust are configuration errors, the same on every broker: the first one raises, with what
    to fix. A broker that is down or slow is not: the clients wait for it as they always do.
    Returns at the first broker that accepts us. Plaintext connections are not checked.
    """
    if kwargs.get("security_protocol", "PLAINTEXT") == "PLAINTEXT":
        return
    from aiokafka.conn import create_conn
    from aiokafka.errors import (
        AuthenticationFailedError,
        IllegalSaslStateError,
        KafkaError,
        SaslAuthenticationFailed,
        UnsupportedSaslMechanismError,
    )

    user = kwargs.get("sasl_plain_username")
    for host_port in bootstrap_servers.split(","):
        host, _, port = host_port.strip().rpartition(":")
        try:
            conn = await asyncio.wait_for(
                create_conn(host, int(port), request_timeout_ms=int(timeout_s * 1000), **kwargs), timeout_s)
        except (SaslAuthenticationFailed, AuthenticationFailedError, UnsupportedSaslMechanismError,
                IllegalSaslStateError) as exc:
            raise ConfigError(
                f"Kafka authentication failed at {host_port} for user {user!r} with SASL "
                f"{kwargs.get('sasl_mechanism')}: {_reason(exc)}. Check LOGIFLOW_SASL_USERNAME, "
                "LOGIFLOW_SASL_PASSWORD and LOGIFLOW_SASL_MECHANISM") from None
        except ssl.SSLCertVerificationError as exc:
            raise ConfigError(
                f"TLS: the certificate of the broker at {host_port} is not trusted "
                f"({exc.verify_message}). Check LOGIFLOW_SSL_CAFILE: it must hold the CA that "
                "signed the brokers' certificates") from None
        except ssl.SSLError as exc:
            raise ConfigError(f"TLS handshake with the broker at {host_port} failed ({exc.reason}); "
                              "check LOGIFLOW_SECURITY_PROTOCOL and LOGIFLOW_SSL_*") from None
        except (OSError, KafkaError, TimeoutError, ValueError):
            continue  # down, unreachable or not speaking our protocol: try the next one
        conn.close()
        return


def _reason(exc: Exception) -> str:
    text = str(exc.args[0]) if exc.args else type(exc).__name__
    return text.rstrip(".")


def check_connection_sync(settings: Settings, timeout_s: float = 15.0) -> None:
    """:func:`check_connection` for the command line (no event loop running yet)."""
    asyncio.run(check_connection(settings.bootstrap_servers, client_kwargs(settings), timeout_s))
