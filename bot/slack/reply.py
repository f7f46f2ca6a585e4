"""One answer message in a thread: Slack's native text stream where the workspace has it, else a placeholder edited in place.

Both kinds start at once, before any answer work (the student sees something the moment they ask),
then show the queue position while the question waits for a free answer slot, the text as it is
written, and finally the answer with its sources and feedback buttons.

- :class:`StreamReply`: ``chat.startStream`` / ``appendStream`` / ``stopStream`` through
  ``WebClient.chat_stream()``. The stream opens with a task card ("Searching the lectures…") that
  also carries the queue position; the text is appended as it is written; ``stopStream`` closes the
  message with the Block Kit sources and the native 👍/👎. In channels Slack requires the recipient
  (``recipient_user_id`` and ``recipient_team_id``).
- :class:`ThreadReply`: ``chat.postMessage`` then ``chat.update``, throttled to Slack's edit rate
  (about one per second per message); the final edit always goes through.

Which one a message gets is decided by Slack's answer, not by a setting: when ``chat.startStream``
is refused the message falls back to a placeholder, and a refusal that means "this workspace or
token cannot stream" (:data:`PERMANENT_REFUSALS`) is remembered in :class:`StreamingSupport` for the
rest of the process. Nothing here raises for Slack API errors: they are logged and reported as False,
because a failed edit must never take the rest of the answer flow down with it. Every text that
leaves here is escaped (:func:`bot.slack.blocks.escape`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.models.messages.chunk import TaskUpdateChunk
from slack_sdk.web.chat_stream import ChatStream

from bot.slack.blocks import (
    SEARCHING,
    WORKING_TEXT,
    Block,
    answer_blocks,
    answer_tail_blocks,
    context,
    escape,
    fallback_text,
    notice_blocks,
    progress_blocks,
    queued_text,
)
from pipelines.domain import Answer

logger = logging.getLogger(__name__)

# chat.startStream answers that mean streaming is not available to this app at all (the method is
# unknown to the workspace, the plan or the admin does not allow it, the token lacks a scope): every
# later message would be refused the same way, so the process stops trying.
PERMANENT_REFUSALS = frozenset(
    {
        "unknown_method",
        "not_allowed",
        "not_allowed_token_type",
        "missing_scope",
        "no_permission",
        "access_denied",
        "feature_not_enabled",
        "team_not_allowed",
        "method_deprecated",
    }
)
STREAM_BUFFER_CHARS = 128  # streamed text is sent once this much has gathered (or at the end)
SEARCH_TASK = "search"


class StreamingSupport:
    """Whether this process still tries native streaming; switched off for good by a permanent refusal."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.refusal: str | None = None

    @property
    def available(self) -> bool:
        """True until Slack refused ``chat.startStream`` with one of :data:`PERMANENT_REFUSALS`."""
        with self._lock:
            return self.refusal is None

    def refused(self, error: str) -> None:
        """Record Slack's answer to ``chat.startStream``; a permanent one ends streaming for this process."""
        if error not in PERMANENT_REFUSALS:
            logger.info("chat.startStream refused (%s): this answer uses a placeholder", error)
            return
        with self._lock:
            first = self.refusal is None
            self.refusal = self.refusal or error
        if first:
            logger.warning("Slack refused native streaming (%s): answers are placeholders edited in place from now on", error)


class Reply(Protocol):
    """What the answer flow does with the message that shows an answer, whichever kind it is."""

    ts: str | None

    def queued(self, ahead: int) -> bool:
        """Show that the question waits, with ``ahead`` questions before it."""
        ...

    def searching(self) -> bool:
        """Show that the answer is being worked on (after a wait in the queue)."""
        ...

    def write(self, delta: str) -> None:
        """Show more of the answer text as it is written (raw text; escaped here)."""
        ...

    def finish(self, answer: Answer, answer_id: str | None) -> bool:
        """The finished answer: its text, sources and feedback buttons."""
        ...

    def notice(self, text: str, emoji: str = ":warning:") -> bool:
        """End with a one-paragraph message instead of an answer (an error, a refusal)."""
        ...

    def amend(self, answer: Answer, answer_id: str | None, notes: tuple[str, ...]) -> bool:
        """Rewrite the finished answer with context lines added (e.g. why there is no voice clip)."""
        ...


class ThreadReply:
    """Post once, then edit: ``start`` → (``queued``/``write``…) → ``finish`` (or ``notice``)."""

    streamed = False

    def __init__(
        self,
        client: WebClient,
        channel: str,
        thread_ts: str,
        min_update_interval_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.channel = channel
        self.thread_ts = thread_ts
        self.ts: str | None = None
        self.min_update_interval_s = min_update_interval_s
        self._clock = clock
        self._last_update = float("-inf")
        self._lock = threading.Lock()
        self._written: list[str] = []
        self._waiting = False

    def start(self, text: str = WORKING_TEXT) -> bool:
        """The placeholder in the thread; its ``ts`` is the message every later step edits."""
        try:
            response = self.client.chat_postMessage(
                channel=self.channel, thread_ts=self.thread_ts, text=text, blocks=[context(text)], unfurl_links=False
            )
        except SlackApiError as error:
            logger.warning("could not post the placeholder in %s: %s", self.channel, error.response.get("error"))
            return False
        self.ts = response.get("ts")
        return self.ts is not None

    def queued(self, ahead: int) -> bool:
        """The placeholder says how many questions are ahead (never throttled: it is what the student waits on)."""
        self._waiting = True
        text = queued_text(ahead)
        return self._write(text, [context(text)])

    def searching(self) -> bool:
        """Back to "looking through the lectures" once a queued question gets its turn."""
        if not self._waiting:
            return True
        self._waiting = False
        return self._write(WORKING_TEXT, [context(WORKING_TEXT)])

    def write(self, delta: str) -> None:
        """Collect streamed text; the placeholder shows it at most once per interval."""
        with self._lock:
            self._written.append(delta)
            text_so_far = "".join(self._written)
        self.partial(text_so_far)

    def partial(self, text_so_far: str) -> bool:
        """Show a growing answer; skipped (False) when the last edit was under the interval ago."""
        with self._lock:
            now = self._clock()
            if now - self._last_update < self.min_update_interval_s:
                return False
            self._last_update = now
        return self._write(fallback_text(text_so_far), progress_blocks(text_so_far))

    def finish(self, answer: Answer, answer_id: str | None) -> bool:
        """The finished message: the answer's text, its sources and the feedback buttons."""
        return self.final(answer.text, answer_blocks(answer, answer_id))

    def notice(self, text: str, emoji: str = ":warning:") -> bool:
        """Replace the placeholder with a one-paragraph message."""
        return self.final(text, notice_blocks(text, emoji))

    def amend(self, answer: Answer, answer_id: str | None, notes: tuple[str, ...]) -> bool:
        """The finished message again, with ``notes`` as context lines."""
        return self.final(answer.text, answer_blocks(answer, answer_id, notes=notes))

    def final(self, text: str, blocks: list[Block]) -> bool:
        """Write ``blocks`` with ``text`` (raw; escaped here) as the message's text; never throttled."""
        with self._lock:
            self._last_update = self._clock()
        return self._write(fallback_text(text), blocks)

    def _write(self, text: str, blocks: list[Block]) -> bool:
        try:
            if self.ts is None:  # the placeholder failed: post the content as a new message instead
                response = self.client.chat_postMessage(
                    channel=self.channel, thread_ts=self.thread_ts, text=text, blocks=blocks, unfurl_links=False
                )
                self.ts = response.get("ts")
            else:
                self.client.chat_update(channel=self.channel, ts=self.ts, text=text, blocks=blocks)
            return True
        except SlackApiError as error:
            logger.warning("could not write the answer in %s: %s", self.channel, error.response.get("error"))
            return False


class StreamReply:
    """A natively streamed answer: ``start`` (False: use a :class:`ThreadReply`) → ``write``… → ``finish``."""

    streamed = True

    def __init__(
        self,
        client: WebClient,
        channel: str,
        thread_ts: str,
        recipient_user_id: str,
        recipient_team_id: str,
        support: StreamingSupport,
    ) -> None:
        self.client = client
        self.channel = channel
        self.thread_ts = thread_ts
        self.recipient_user_id = recipient_user_id
        self.recipient_team_id = recipient_team_id
        self.support = support
        self.ts: str | None = None
        self._stream: ChatStream | None = None
        self._lock = threading.Lock()
        self._streamed: list[str] = []  # the escaped text sent (or buffered) so far
        self._broken = False  # Slack ended the stream early; the rest goes through chat.update
        self._waiting = False

    def start(self) -> bool:
        """Open the stream with its "searching" task card; False (and Slack's reason recorded) when refused."""
        stream = self.client.chat_stream(
            channel=self.channel,
            thread_ts=self.thread_ts,
            recipient_user_id=self.recipient_user_id or None,
            recipient_team_id=self.recipient_team_id or None,
            buffer_size=STREAM_BUFFER_CHARS,
        )
        try:
            stream.append(chunks=[_task(SEARCHING, "in_progress")])
        except SlackApiError as error:
            self.support.refused(str(error.response.get("error") or "unknown_error"))
            return False
        except (SlackClientError, OSError) as error:
            logger.info("chat.startStream failed (%s): this answer uses a placeholder", type(error).__name__)
            return False
        self._stream, self.ts = stream, stream.ts
        return self.ts is not None

    def queued(self, ahead: int) -> bool:
        """The task card says how many questions are ahead."""
        self._waiting = True
        return self._append(chunks=[_task(queued_text(ahead), "pending")])

    def searching(self) -> bool:
        """The task card is back to "searching" once the question gets its turn."""
        if not self._waiting:
            return True
        self._waiting = False
        return self._append(chunks=[_task(SEARCHING, "in_progress")])

    def write(self, delta: str) -> None:
        """Append answer text (buffered by the SDK into fewer ``chat.appendStream`` calls)."""
        if delta:
            escaped = escape(delta)
            with self._lock:
                self._streamed.append(escaped)
            self._append(markdown_text=escaped)

    def finish(self, answer: Answer, answer_id: str | None) -> bool:
        """Stop the stream with the sources and feedback buttons under the streamed text.

        When the text the student saw differs from the answer (an LLM that failed half-way and was
        replaced by the offline answer), or the stream was ended early by Slack, the stopped
        message is rewritten whole with ``chat.update``.
        """
        with self._lock:
            streamed = "".join(self._streamed)
        expected = escape(answer.text)
        rest = expected[len(streamed) :] if expected.startswith(streamed) else ""
        stopped = self._stop(rest, answer_tail_blocks(answer, answer_id), "complete", "Searched the lectures")
        if stopped and expected.startswith(streamed):
            return True
        return self._update(answer.text, answer_blocks(answer, answer_id))

    def notice(self, text: str, emoji: str = ":warning:") -> bool:
        """End the stream with the message as its text (and the task card marked as failed)."""
        if self._stop(f"{emoji} {escape(text)}", [], "error", "Could not answer"):
            return True
        return self._update(text, notice_blocks(text, emoji))

    def amend(self, answer: Answer, answer_id: str | None, notes: tuple[str, ...]) -> bool:
        """Rewrite the stopped message whole (``chat.update`` works on a finished stream)."""
        return self._update(answer.text, answer_blocks(answer, answer_id, notes=notes))

    # -- Slack calls ----------------------------------------------------------------------------
    def _append(self, markdown_text: str | None = None, chunks: list[TaskUpdateChunk] | None = None) -> bool:
        with self._lock:
            if self._stream is None or self._broken:
                return False
            try:
                self._stream.append(markdown_text=markdown_text, chunks=chunks)
                return True
            except (SlackApiError, SlackClientError) as error:
                self._broken = True
                logger.warning("the answer stream in %s ended early: %s", self.channel, _code(error))
                return False

    def _stop(self, markdown_text: str, blocks: list[Block], status: str, title: str) -> bool:
        with self._lock:
            if self._stream is None or self._broken:
                return False
            try:
                self._stream.stop(markdown_text=markdown_text or None, chunks=[_task(title, status)], blocks=blocks or None)
                return True
            except (SlackApiError, SlackClientError) as error:
                self._broken = True
                logger.warning("could not stop the answer stream in %s: %s", self.channel, _code(error))
                return False

    def _update(self, text: str, blocks: list[Block]) -> bool:
        try:
            if self.ts is None:
                self.client.chat_postMessage(
                    channel=self.channel, thread_ts=self.thread_ts, text=fallback_text(text), blocks=blocks, unfurl_links=False
                )
            else:
                self.client.chat_update(channel=self.channel, ts=self.ts, text=fallback_text(text), blocks=blocks)
            return True
        except SlackApiError as error:
            logger.warning("could not write the answer in %s: %s", self.channel, error.response.get("error"))
            return False


def open_reply(
    client: WebClient, channel: str, thread_ts: str, user: str, team: str, support: StreamingSupport
) -> StreamReply | ThreadReply:
    """The message for one answer, already visible: a stream when Slack takes one, else a placeholder."""
    if support.available:
        stream = StreamReply(client, channel, thread_ts, user, team, support)
        if stream.start():
            return stream
    placeholder = ThreadReply(client, channel, thread_ts)
    placeholder.start()
    return placeholder


def _task(title: str, status: str) -> TaskUpdateChunk:
    return TaskUpdateChunk(id=SEARCH_TASK, title=title, status=status)


def _code(error: Exception) -> str:
    if isinstance(error, SlackApiError):
        return str(error.response.get("error") or "unknown_error")
    return type(error).__name__
