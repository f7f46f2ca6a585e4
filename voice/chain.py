"""The fallback chain: try backends in the configured order, fall through on unavailability, errors
and timeouts, and record who spoke and why the others did not.

A slow or hung backend (Tortoise on a busy GPU, a stalled network call) must not hold an answer's
clip hostage: each attempt runs in a worker thread with the backend's own deadline, and the chain
moves on when it passes. The stuck thread is left to finish in the background (Python threads
cannot be killed); its late result is discarded.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

from voice.audio import Audio
from voice.backends.base import BackendError, SpeechBackend

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attempt:
    """One backend's turn: ``spoke``, ``cached``, ``unavailable``, ``error`` or ``timeout``."""

    backend: str
    outcome: str
    reason: str = ""
    seconds: float = 0.0


@dataclass
class ChainResult:
    """What one :meth:`VoiceChain.speak` produced: fresh audio, a cache hit, or neither, and every attempt."""

    audio: Audio | None
    backend: str | None
    attempts: list[Attempt] = field(default_factory=list)
    hit: Any = None  # what ``before_each`` answered with (a cached clip), when it did

    @property
    def spoke(self) -> bool:
        """Some backend spoke, or the cache answered for one."""
        return self.audio is not None or self.hit is not None

    @property
    def error(self) -> str | None:
        """None when a backend spoke; otherwise one line naming each backend and why it did not."""
        if self.spoke:
            return None
        if not self.attempts:
            return "no voice backend is configured"
        return "no voice backend could speak: " + "; ".join(f"{a.backend}: {a.reason}" for a in self.attempts)


class VoiceChain:
    """Backends in priority order; the first that is available and succeeds within its timeout speaks."""

    def __init__(self, backends: Sequence[SpeechBackend]):
        self.backends = list(backends)
        # Enough threads that an abandoned (timed-out) attempt never blocks the next backend.
        self._pool = ThreadPoolExecutor(max_workers=max(2, 2 * len(self.backends)), thread_name_prefix="voice")

    def speak(
        self,
        text: str,
        voice: str,
        before_each: Callable[[SpeechBackend], Any] | None = None,
    ) -> ChainResult:
        """Speak ``text``; ``before_each`` may answer for a backend first (the clip cache does)."""
        result = ChainResult(audio=None, backend=None)
        for backend in self.backends:
            started = time.perf_counter()
            if before_each is not None:
                hit = before_each(backend)
                if hit is not None:
                    result.attempts.append(Attempt(backend.name, "cached", "", time.perf_counter() - started))
                    result.hit, result.backend = hit, backend.name
                    return result
            attempt = self._try(backend, text, voice, started)
            result.attempts.append(attempt.record)
            if attempt.audio is not None:
                result.audio, result.backend = attempt.audio, backend.name
                return result
            logger.info("voice backend %s did not speak (%s): %s", backend.name, attempt.record.outcome, attempt.record.reason)
        return result

    def _try(self, backend: SpeechBackend, text: str, voice: str, started: float) -> _Outcome:
        def elapsed() -> float:
            return time.perf_counter() - started

        try:
            availability = backend.available(voice)
        except Exception as error:  # an availability probe that crashes is a reason, not a crash
            return _Outcome(None, Attempt(backend.name, "unavailable", f"availability check failed: {error}", elapsed()))
        if not availability:
            return _Outcome(None, Attempt(backend.name, "unavailable", availability.reason, elapsed()))
        future = self._pool.submit(backend.synthesize, text, voice)
        try:
            audio = future.result(timeout=backend.timeout_s)
        except FutureTimeout:
            future.cancel()
            return _Outcome(None, Attempt(backend.name, "timeout", f"no audio within {backend.timeout_s:g} s", elapsed()))
        except BackendError as error:
            return _Outcome(None, Attempt(backend.name, "error", str(error), elapsed()))
        except Exception as error:  # a backend bug must not take the answer down with it
            logger.exception("voice backend %s crashed", backend.name)
            return _Outcome(None, Attempt(backend.name, "error", f"{type(error).__name__}: {error}", elapsed()))
        if not isinstance(audio, Audio) or len(audio.samples) == 0:
            return _Outcome(None, Attempt(backend.name, "error", "returned no audio", elapsed()))
        return _Outcome(audio, Attempt(backend.name, "spoke", "", elapsed()))

    def close(self) -> None:
        """Stop the worker threads without waiting for an abandoned (timed-out) attempt to finish."""
        self._pool.shutdown(wait=False, cancel_futures=True)


@dataclass(frozen=True)
class _Outcome:
    audio: Audio | None
    record: Attempt
