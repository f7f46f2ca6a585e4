"""The agent (assistant) view: suggested prompts from the course, a status while searching, a thread title.

Slack opens the bot's agent view either with ``assistant_thread_started`` (the side-panel container)
or, where the agent view is the default, with ``app_home_opened`` on the Messages tab; both get the
same suggested prompts. Questions asked there arrive as direct messages (``message.im``) and go
through the one answer flow every other message uses, so guards and threads behave the same way.

Prompts come from the course itself: each video's stored summary (``DATA_DIR/summaries``,
:mod:`pipelines.llm.summaries`) offers salient points, and a prompt asks about one of them in its
lecture. With no summaries (nothing ingested yet, or summaries switched off) generic prompts are
used. Every call here is cosmetic: a failure is logged, never raised.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.slack.blocks import SEARCHING, escape, shorten
from pipelines.llm.summaries import list_summaries, load_summary, summaries_dir
from pipelines.settings import Settings

logger = logging.getLogger(__name__)

MAX_PROMPTS = 4  # what Slack shows
PROMPTS_TITLE = "Ask about the lectures, for example:"
SEARCHING_STATUS = "is searching the lectures\u2026"
TITLE_LIMIT = 80
PROMPT_TITLE_LIMIT = 48
POINT_WORDS = (6, 24)  # salient points that read as a self-contained statement
REFRESH_S = 300.0
_WEAK_START = re.compile(r"^(so|and|but|now|okay|ok|um|uh|well|then|also|or|because|which|it|this|that|they|he|she|we|i)\b", re.I)

GENERIC_PROMPTS: tuple[dict[str, str], ...] = (
    {"title": "Find where a topic is explained", "message": "Which lecture explains the main idea of the course, and at what minute?"},
    {"title": "Explain a term", "message": "Explain the most important definition from the lectures in simple words."},
    {"title": "Summarize a lecture", "message": "What are the main points of the first lecture?"},
)


@dataclass(frozen=True)
class Prompt:
    """One suggested prompt: the button's title and the message it sends."""

    title: str
    message: str

    def to_slack(self) -> dict[str, str]:
        """The ``{"title", "message"}`` object ``assistant.threads.setSuggestedPrompts`` takes (escaped)."""
        return {"title": escape(self.title), "message": escape(self.message)}


def course_prompts(settings: Settings) -> list[Prompt]:
    """One prompt per summarized video (its clearest salient point), in video-id order; empty without summaries."""
    prompts: list[Prompt] = []
    for video_id in list_summaries(settings):
        summary = load_summary(settings, video_id)
        if summary is None:
            continue
        point = _clearest_point([p.text for p in summary.points])
        if point is None:
            continue
        title = summary.title or video_id
        prompts.append(Prompt(shorten(title, PROMPT_TITLE_LIMIT), f"In \u201c{title}\u201d, what does this mean: \u201c{point}\u201d?"))
    return prompts


def _clearest_point(points: list[str]) -> str | None:
    """The first point that stands on its own: a whole sentence of moderate length, not opening mid-thought."""
    for text in points:
        words = text.split()
        if POINT_WORDS[0] <= len(words) <= POINT_WORDS[1] and text.rstrip().endswith((".", "!", "?")) and not _WEAK_START.match(text):
            return " ".join(words)
    return None


class PromptBook:
    """The course's prompts, re-read when the summaries change (checked at most every ``REFRESH_S``)."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self._clock = clock
        self._lock = threading.Lock()
        self._prompts: list[Prompt] = []
        self._stamp: tuple[float, int] | None = None
        self._checked = float("-inf")

    def for_user(self, user: str) -> list[Prompt]:
        """Up to :data:`MAX_PROMPTS` prompts; which videos they cover rotates with the student, so classmates see different ones."""
        prompts = self._current()
        if not prompts:
            return [Prompt(**p) for p in GENERIC_PROMPTS]
        if len(prompts) <= MAX_PROMPTS:
            return prompts
        start = int(hashlib.sha256(user.encode()).hexdigest(), 16) % len(prompts)
        return [prompts[(start + i) % len(prompts)] for i in range(MAX_PROMPTS)]

    def _current(self) -> list[Prompt]:
        with self._lock:
            now = self._clock()
            if now - self._checked < REFRESH_S:
                return self._prompts
            self._checked = now
            stamp = _stamp(self.settings)
            if stamp != self._stamp:
                try:
                    self._prompts = course_prompts(self.settings)
                except (OSError, ValueError) as error:
                    logger.warning("could not read the course summaries for suggested prompts: %s", error)
                    self._prompts = []
                self._stamp = stamp
            return self._prompts


def _stamp(settings: Settings) -> tuple[float, int]:
    folder = summaries_dir(settings)
    try:
        files = list(folder.glob("*.json"))
        return (max((f.stat().st_mtime for f in files), default=0.0), len(files))
    except OSError:
        return (0.0, 0)


def suggest_prompts(client: WebClient, book: PromptBook, channel: str, user: str, thread_ts: str | None = None) -> bool:
    """Show the course's suggested prompts in the agent view (a thread, or the Messages tab when ``thread_ts`` is None)."""
    prompts = [p.to_slack() for p in book.for_user(user)]
    return _call(
        "assistant.threads.setSuggestedPrompts",
        lambda: client.assistant_threads_setSuggestedPrompts(channel_id=channel, thread_ts=thread_ts, title=PROMPTS_TITLE, prompts=prompts),
    )


def set_searching_status(client: WebClient, channel: str, thread_ts: str) -> bool:
    """The "is searching the lectures…" status under the thread (cleared by Slack when the answer arrives)."""
    return _call(
        "assistant.threads.setStatus",
        lambda: client.assistant_threads_setStatus(
            channel_id=channel, thread_ts=thread_ts, status=SEARCHING_STATUS, loading_messages=[SEARCHING]
        ),
    )


def set_thread_title(client: WebClient, channel: str, thread_ts: str, question: str) -> bool:
    """Name the agent-view thread after the question that opened it."""
    title = escape(shorten(question, TITLE_LIMIT))
    return _call(
        "assistant.threads.setTitle", lambda: client.assistant_threads_setTitle(channel_id=channel, thread_ts=thread_ts, title=title)
    )


def _call(method: str, call: Callable[[], object]) -> bool:
    try:
        call()
        return True
    except SlackApiError as error:
        logger.debug("%s failed: %s", method, error.response.get("error"))
    except (SlackClientError, OSError) as error:
        logger.debug("%s failed: %s", method, type(error).__name__)
    return False
