"""One answer message in a thread, posted at once as a placeholder and then updated in place.

The placeholder is what makes the bot feel instant: the student sees "Looking through the lectures…"
right after asking. ``partial`` is the hook for a streaming LLM: call it with the text so far and the
message grows, throttled to Slack's ``chat.update`` rate (about one per second per message); ``final``
always goes through. Nothing here raises for Slack API errors: they are logged and reported as False,
because a failed edit must never take the rest of the answer flow down with it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack.blocks import WORKING_TEXT, Block, context, fallback_text, progress_blocks

logger = logging.getLogger(__name__)


class ThreadReply:
    """Post once, then edit: ``start`` → (``partial``…) → ``final`` (or ``notice`` for an error)."""

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

    def partial(self, text_so_far: str) -> bool:
        """Show a growing answer; skipped (False) when the last edit was under the interval ago."""
        with self._lock:
            now = self._clock()
            if now - self._last_update < self.min_update_interval_s:
                return False
            self._last_update = now
        return self._write(fallback_text(text_so_far), progress_blocks(text_so_far))

    def final(self, text: str, blocks: list[Block]) -> bool:
        """The finished message (answer, sources, buttons); never throttled."""
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
