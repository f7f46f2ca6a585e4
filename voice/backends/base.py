"""The backend interface: small on purpose, like discord.py's ``AudioSource`` (three methods).

``available()`` answers *why not* before any work is done (no GPU, no key, no cloned voice), so the
chain can skip a backend cheaply and report the reason; ``synthesize()`` does the work and raises
:class:`BackendError` with a message fit to show an operator (never a secret).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from voice.audio import Audio


class BackendError(RuntimeError):
    """Synthesis failed; the message says why in one line (quota, rate limit, worker error...)."""


@dataclass(frozen=True)
class Availability:
    """Whether a backend can speak right now; truthy when it can, else ``reason`` says why not."""

    ok: bool
    reason: str = ""

    @classmethod
    def yes(cls) -> Availability:
        """The backend can speak."""
        return cls(True)

    @classmethod
    def no(cls, reason: str) -> Availability:
        """The backend cannot speak; ``reason`` is shown to the operator."""
        return cls(False, reason)

    def __bool__(self) -> bool:
        return self.ok


@runtime_checkable
class SpeechBackend(Protocol):
    """What the chain needs from a backend."""

    name: str
    timeout_s: float

    def available(self, voice: str) -> Availability:
        """Whether this backend can speak in ``voice`` right now, and if not, why."""

    def synthesize(self, text: str, voice: str) -> Audio:
        """Speak ``text`` (already prepared speech text) in ``voice``."""

    def fingerprint(self, voice: str) -> dict[str, Any]:
        """Everything that changes the sound besides the text: part of the clip cache key."""


@runtime_checkable
class CloningBackend(SpeechBackend, Protocol):
    """A backend that can learn a voice from reference clips."""

    def clone(self, voice: str, clips: list[ReferenceClipFile]) -> str:
        """Register ``voice`` from the clips; returns a short description of what was done."""


@dataclass(frozen=True)
class ReferenceClipFile:
    """A validated, normalized reference clip on disk (mono 16-bit WAV) and its content hash."""

    path: Path
    sha256: str
    duration_s: float
