"""What the bot remembers between interactions: threads of turns and each user's last answer.

Follow-ups work by replying to one of the bot's answers (or writing in a thread started from it;
a thread started from a message shares that message's id), so every answer message id maps to the
turns that led to it. Memory is bounded (least recently used entries go first) and in-process: a
restart forgets old threads, which then simply start afresh.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

from pipelines.domain import Answer, Turn
from voice.render import Clip

MAX_THREADS = 2000
MAX_TURNS = 6  # history handed to the answerer; older turns do not help retrieval
MAX_CLIPS = 200


@dataclass
class Conversation:
    """The turns (question, answer) that led to one answer message, oldest first."""

    turns: list[Turn] = field(default_factory=list)


class Conversations:
    """Bounded in-process memory: answer messages to their conversations, last answers, recent clips."""

    def __init__(self, max_threads: int = MAX_THREADS) -> None:
        self._threads: OrderedDict[int, Conversation] = OrderedDict()
        self._last: OrderedDict[tuple[int, int], Answer] = OrderedDict()
        self._clips: OrderedDict[str, Clip] = OrderedDict()
        self.max_threads = max_threads

    def history(self, *message_ids: int | None) -> list[Turn] | None:
        """Turns of the first known conversation among ``message_ids``; ``None`` when none is ours."""
        for message_id in message_ids:
            if message_id is not None and message_id in self._threads:
                self._threads.move_to_end(message_id)
                return list(self._threads[message_id].turns)
        return None

    def is_ours(self, *message_ids: int | None) -> bool:
        """Whether any of ``message_ids`` is an answer (or thread) of ours."""
        return any(m is not None and m in self._threads for m in message_ids)

    def record(self, message_ids: list[int], history: list[Turn], answer: Answer, *, also: Sequence[int] = ()) -> None:
        """Remember that the answer posted as ``message_ids`` followed ``history``.

        ``also`` names a thread or root message the conversation continues under, so a thread keeps
        growing even when the student does not use Discord's reply arrow."""
        turns = [*history, Turn(answer.question, answer.text)][-MAX_TURNS:]
        for message_id in [*message_ids, *also]:
            self._threads[message_id] = Conversation(turns)
            self._threads.move_to_end(message_id)
        while len(self._threads) > self.max_threads:
            self._threads.popitem(last=False)

    def remember_last(self, channel_id: int, user_id: int, answer: Answer) -> None:
        """Keep the user's latest answer in this channel for /sources."""
        key = (channel_id, user_id)
        self._last[key] = answer
        self._last.move_to_end(key)
        while len(self._last) > self.max_threads:
            self._last.popitem(last=False)

    def last_answer(self, channel_id: int, user_id: int) -> Answer | None:
        """The user's latest answer in this channel, or ``None``."""
        return self._last.get((channel_id, user_id))

    def keep_clip(self, key: str, clip: Clip) -> None:
        """Remember the clip under the key its "Play in voice" button carries."""
        """Clips stay playable from the answer's button for a while (bounded, newest kept)."""
        self._clips[key] = clip
        self._clips.move_to_end(key)
        while len(self._clips) > MAX_CLIPS:
            self._clips.popitem(last=False)

    def clip(self, key: str) -> Clip | None:
        """The clip a button names, or ``None`` once it has been forgotten."""
        return self._clips.get(key)
