"""The error hierarchy: every failure says whether retrying can help, and who acts.

Agents catch :class:`PoisonMessage` and :class:`TransientFailure` at their boundary; anything
else is an *unexpected* failure and is dead-lettered like a poison message, with its traceback.
"""

from __future__ import annotations


class LogiflowError(Exception):
    """Root of every error LogiFlow raises on purpose."""


class ConfigError(LogiflowError):
    """A setting has an invalid value. Operator: fix the environment variable named in the message."""


class PoisonMessage(LogiflowError):
    """The message will fail the same way every time it is processed.

    It goes to the dead-letter queue at once with ``reason`` (a short stable code such as
    ``invalid-json`` or ``unknown-place``). Operator: fix the producer or the reference data,
    then replay the entry with ``logiflow dlq replay``.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.detail = message


class TransientFailure(LogiflowError):
    """The message is fine but a dependency failed; retrying later may succeed.

    Retried with backoff up to the configured attempts, then dead-lettered. Operator: check the
    dependency named in the message (renderer, invoice store, broker).
    """

    reason = "transient"  # the DLQ reason code when retries are spent


class RenderFailed(TransientFailure):
    """The PDF renderer raised. Operator: read the renderer traceback in the worker log."""

    reason = "render-failed"


class RenderTimeout(TransientFailure):
    """The PDF renderer did not answer within the time limit; its process was killed and replaced.

    Operator: if it repeats, look for invoices with unusually long texts or a loaded machine
    (``LOGIFLOW_RENDER_TIMEOUT_S``); the message is retried, then dead-lettered.
    """

    reason = "render-timeout"


class RenderCrashed(TransientFailure):
    """A PDF renderer process died (crash, OOM kill); it was replaced.

    Operator: check the worker log and the kernel log (``dmesg``) for an OOM kill; the message
    is retried, then dead-lettered.
    """

    reason = "render-crashed"


class InvoiceStoreError(TransientFailure):
    """Writing an invoice PDF failed (disk full, permissions). Operator: check the invoice folder."""

    reason = "store-failed"


class TopicMismatch(LogiflowError):
    """A LogiFlow topic exists with another partition count than the app needs, or never appeared.

    The worker stops before it consumes anything: tables and topics are co-partitioned by truck
    id, and a mismatch would put a truck's state on another partition than its events.
    Operator: delete the wrong topic (or set LOGIFLOW_PARTITIONS to what it has) and start again.
    """


class BrokerError(LogiflowError):
    """The local Kafka broker could not be fetched, formatted or started.

    Operator: the message names the log file to read.
    """


class WorkerStopping(BaseException):
    """The worker is stopping while the message in hand cannot be processed (breaker open).

    Not an ``Exception``: nothing may catch it as a failure of the message and dead-letter or
    ack it. The agent leaves the message unacked, so it is redelivered after the restart.
    """
