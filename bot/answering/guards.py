"""Guards every front door (Slack, Discord) puts before the AnswerService.

They are platform-neutral and cheap (no I/O), so a bot can run them inside its acknowledgement
window: who may ask (allow-lists), how often (a per-user sliding-window rate limit), whether a message
in a question channel asks something at all, and whether an event was already handled (platforms redeliver: Slack retries, double delivery of one message as a
mention and as a channel message). Each guard answers with a decision plus a user-facing reason,
because a student must always be told why the bot did not answer.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

Clock = Callable[[], float]


@dataclass(frozen=True)
class RateDecision:
    """Whether a question may go ahead, and how long to wait when it may not."""

    allowed: bool
    retry_after_s: float = 0.0

    def message(self) -> str:
        """The friendly reply for a refused question."""
        wait = max(1, math.ceil(self.retry_after_s))
        unit = "second" if wait == 1 else "seconds"
        return f"You're asking faster than I can keep up \u2014 please try again in {wait} {unit}. I'll be right here."


class RateLimiter:
    """At most ``limit`` events per ``window_s`` seconds per key (a sliding window, thread-safe).

    A sliding window, not a fixed bucket: a student who asks five questions at 09:59:59 cannot ask five
    more at 10:00:00. Refused attempts do not count, so waiting the advertised time always works.
    """

    def __init__(self, limit: int, window_s: float, clock: Clock = time.monotonic, max_keys: int = 100_000) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError("limit must be >= 1 and window_s > 0")
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._max_keys = max_keys
        self._events: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, key: str) -> RateDecision:
        """Count one attempt for ``key`` when it is within the limit; refused attempts are not counted."""
        now = self._clock()
        with self._lock:
            events = self._events.get(key)
            if events is None:
                events = self._events[key] = deque()
                while len(self._events) > self._max_keys:  # forget the least recently active users
                    self._events.popitem(last=False)
            self._events.move_to_end(key)
            while events and events[0] <= now - self.window_s:
                events.popleft()
            if len(events) >= self.limit:
                return RateDecision(False, events[0] + self.window_s - now)
            events.append(now)
            return RateDecision(True)


@dataclass(frozen=True)
class AccessDecision:
    """Whether the bot answers in a place, with the sentence that tells the student where it does."""

    allowed: bool
    reason: str = ""


class ChannelAllowList:
    """Where the bot answers. Empty list = everywhere the platform delivers events from (the channels
    the bot was invited to); direct messages are allowed separately."""

    def __init__(self, channel_ids: Iterable[str] = (), allow_direct: bool = True) -> None:
        self.channel_ids = frozenset(channel_ids)
        self.allow_direct = allow_direct

    def check(self, channel_id: str, direct: bool, mention: Callable[[str], str] = lambda c: c) -> AccessDecision:
        """``mention`` renders a channel id the way the platform links it (Slack ``<#C123>``)."""
        if direct:
            if self.allow_direct:
                return AccessDecision(True)
            return AccessDecision(False, "I don't answer direct messages here. Please ask in " + self._where(mention) + ".")
        if not self.channel_ids or channel_id in self.channel_ids:
            return AccessDecision(True)
        return AccessDecision(False, "I only answer questions in " + self._where(mention) + ", so I can't answer here.")

    def _where(self, mention: Callable[[str], str]) -> str:
        if not self.channel_ids:
            return "the course channels"
        names = [mention(channel) for channel in sorted(self.channel_ids)]
        if self.allow_direct:
            names.append("a direct message to me")
        return ", ".join(names[:-1]) + (" or " if len(names) > 1 else "") + names[-1]


class SeenEvents:
    """Remembers event keys for ``ttl_s`` so a redelivered event is recognised (thread-safe).

    ``claim`` is atomic: of two concurrent deliveries of the same event exactly one gets True.
    Process-local by design; one bot process per workspace is the deployment (DESIGN.md).
    """

    def __init__(self, ttl_s: float = 3600.0, clock: Clock = time.monotonic, max_keys: int = 200_000) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._max_keys = max_keys
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def claim(self, *keys: str) -> bool:
        """True when none of ``keys`` was seen before; all of them are then remembered."""
        now = self._clock()
        with self._lock:
            while self._seen and (next(iter(self._seen.values())) < now - self.ttl_s or len(self._seen) > self._max_keys):
                self._seen.popitem(last=False)
            if any(key in self._seen for key in keys if key):
                return False
            for key in keys:
                if key:
                    self._seen[key] = now
            return True


# Characters a question may arrive with that carry no text a search could use, and that break the
# tokenizer (lone surrogates: what undecodable bytes become under ``surrogateescape``) or can disguise
# text (bidirectional overrides, zero-width characters): C0/C1 controls other than whitespace, lone
# surrogates, invisible format characters, and U+FFFD, the mark a decoder leaves for an undecodable byte.
_UNREADABLE = re.compile(
    "[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f"
    "\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\ufffd"
    "\ud800-\udfff\U000e0000-\U000e007f]+"
)


@dataclass(frozen=True)
class CleanText:
    """A question's readable text (whitespace collapsed) and whether anything unreadable was taken out."""

    text: str
    removed: bool


def clean_text(text: str) -> CleanText:
    """``text`` without control, invisible-format and undecodable characters, whitespace collapsed to single spaces.

    Never raises, whatever the string holds (NULs, lone surrogates, RTL overrides), and the result always
    encodes as UTF-8, so it is safe to search, log, print and send back to a chat platform.
    """
    stripped = _UNREADABLE.sub("", text or "")
    return CleanText(" ".join(stripped.split()), len(stripped) != len(text or ""))


# A message in a question channel is taken for a question when it asks something; the rest is chatter.
_QUESTION_START = re.compile(
    r"^\s*(what|why|how|when|where|which|who|whom|whose|can|could|would|should|is|are|was|were|do|does|did|will|"
    r"explain|define|describe|compare)\b",
    re.I,
)


def looks_like_question(text: str) -> bool:
    """True for text that asks something ("...?" or starting with a question word) and is long enough to search."""
    words = text.split()
    return len(words) >= 3 and ("?" in text or bool(_QUESTION_START.match(text)))
