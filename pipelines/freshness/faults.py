"""Why a video failed, in words a maintainer can act on, and whether trying again can help.

Every stage of the sync raises whatever its library raises; this module turns those exceptions
into one line for the ledger plus a ``retryable`` flag, so throttling and network errors are
retried with backoff while a private video or a corrupt file is not retried forever.
"""

from __future__ import annotations

import errno
import socket
from dataclasses import dataclass


class VideoFailure(Exception):
    """A failure we already understand: ``reason`` is the ledger text, ``retryable`` the policy."""

    def __init__(self, reason: str, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


@dataclass(frozen=True)
class Fault:
    """A failure in words for the ledger, and whether trying again can help."""

    reason: str
    retryable: bool


def classify(error: BaseException) -> Fault:
    """Turn any exception from a stage into a reason and a retry policy."""
    if isinstance(error, VideoFailure):
        return Fault(error.reason, error.retryable)
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        return Fault("disk full (no space left on device); free space and it will be retried", True)
    if isinstance(error, OSError) and error.errno in (errno.EACCES, errno.EPERM):
        return Fault(f"permission denied: {error.filename or error}", False)
    if isinstance(error, (ConnectionError, TimeoutError, socket.timeout)):
        return Fault(f"network error: {type(error).__name__}: {error}", True)
    try:
        import requests

        if isinstance(error, requests.RequestException):
            return Fault(f"network error: {type(error).__name__}: {error}", True)
    except ImportError:  # pragma: no cover - requests comes with youtube-transcript-api
        pass
    return Fault(f"{type(error).__name__}: {error}", True)


def backoff_seconds(attempts: int, base: float, ceiling: float) -> float:
    """Exponential backoff: base, 2·base, 4·base, … capped at ``ceiling``."""
    return min(ceiling, base * (2 ** max(0, attempts - 1)))
