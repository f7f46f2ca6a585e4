"""The slow half of a question, run by Bolt as a lazy listener after the event was acknowledged.

Order matters and is what the student sees: a "working" reaction and a placeholder at once, the
answer (text, sources, feedback buttons) edited into the placeholder, then the voice clip uploaded to
the thread, so text never waits for audio. Every path ends in a visible message: a refusal, a
too-long question, a search failure and a missing clip are all explained in the thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.answering.feedback import AnswerLog
from bot.answering.service import AnswerService, QuestionError
from bot.slack.blocks import answer_blocks, notice_blocks
from bot.slack.reply import ThreadReply
from bot.slack.triage import ANSWER, PLATFORM, REFUSE, Triage
from bot.slack.voice_clip import upload_voice_clip
from pipelines.domain import Answer, Turn
from pipelines.settings import Settings
from voice.render import VoiceRenderer

logger = logging.getLogger(__name__)

HISTORY_TURNS = 6


def failure_message(error: Exception) -> str:
    """What the student reads when the search itself failed: the kind of failure, never its details
    (they can hold hostnames or credentials; the log has them)."""
    return (
        "Sorry \u2014 I couldn't search the lectures just now "
        f"({type(error).__name__}). Please try again in a minute; the course team can see the details in the bot's log."
    )


class AnswerFlow:
    """Turns one triaged event into what the student sees in the thread; never raises."""

    def __init__(
        self,
        settings: Settings,
        service: AnswerService,
        log: AnswerLog,
        renderer: VoiceRenderer | None,
    ) -> None:
        self.settings = settings
        self.service = service
        self.log = log
        self.renderer = renderer
        self.answer_gate = threading.BoundedSemaphore(settings.slack_answer_concurrency)
        self.voice_gate = threading.BoundedSemaphore(1)

    def run(self, triage: Triage, client: WebClient) -> None:
        """Refuse, answer or ignore as ``triage`` says; every answer and error ends as a message in the thread."""
        if triage.action == REFUSE:
            self._refuse(triage, client)
            return
        if triage.action != ANSWER:
            return
        try:
            question = self.service.validate(triage.question)
        except QuestionError as error:
            self._notice(client, triage, str(error), ":pencil2:")
            return
        self._react(client, triage, "reactions_add")
        reply = ThreadReply(client, triage.channel, triage.thread_ts)
        reply.start()
        try:
            answer = self._answer(question, self._history(triage), reply)
        except QuestionError as error:
            reply.final(str(error), notice_blocks(str(error), ":pencil2:"))
            self._react(client, triage, "reactions_remove")
            return
        except Exception as error:
            logger.exception("answering %s in %s failed", triage.ts, triage.channel)
            message = failure_message(error)
            reply.final(message, notice_blocks(message))
            self._react(client, triage, "reactions_remove")
            return
        answer_id = self.log.record_answer(PLATFORM, triage.channel, triage.thread_ts, triage.user, answer)
        reply.final(answer.text, answer_blocks(answer, answer_id))
        if reply.ts:
            self.log.set_message(answer_id, reply.ts)
        self._react(client, triage, "reactions_remove")
        self._voice(client, triage, reply, answer, answer_id)

    def _answer(self, question: str, history: Sequence[Turn], reply: ThreadReply) -> Answer:
        """Streamed text grows in the placeholder (throttled); the returned Answer replaces it."""
        written: list[str] = []

        def on_text(delta: str) -> None:
            written.append(delta)
            reply.partial("".join(written))

        with self.answer_gate:
            return self.service.answer_stream(question, history, on_text=on_text)

    def _history(self, triage: Triage) -> list[Turn]:
        if not triage.follow_up:
            return []
        return self.log.thread_turns(PLATFORM, triage.channel, triage.thread_ts, HISTORY_TURNS)

    def _voice(self, client: WebClient, triage: Triage, reply: ThreadReply, answer: Answer, answer_id: str) -> None:
        if not self.settings.slack_voice_clips or self.renderer is None:
            return
        outcome = upload_voice_clip(client, self.renderer, answer.text, triage.channel, triage.thread_ts, self.voice_gate)
        if outcome.note:
            reply.final(answer.text, answer_blocks(answer, answer_id, notes=(outcome.note,)))

    def _refuse(self, triage: Triage, client: WebClient) -> None:
        """Refusals concern only the asker: an ephemeral message, in the thread when there is one."""
        try:
            client.chat_postEphemeral(
                channel=triage.channel, user=triage.user, thread_ts=triage.thread_ts if triage.follow_up else None, text=triage.why
            )
        except SlackApiError as error:
            logger.warning("could not tell %s why: %s", triage.user, error.response.get("error"))

    def _notice(self, client: WebClient, triage: Triage, text: str, emoji: str) -> None:
        try:
            client.chat_postMessage(channel=triage.channel, thread_ts=triage.thread_ts, text=text, blocks=notice_blocks(text, emoji))
        except SlackApiError as error:
            logger.warning("could not reply in %s: %s", triage.channel, error.response.get("error"))

    def _react(self, client: WebClient, triage: Triage, method: str) -> None:
        """The 'working' reaction on the question; cosmetic, so a failure is only logged."""
        try:
            getattr(client, method)(channel=triage.channel, timestamp=triage.ts, name=self.settings.slack_working_reaction)
        except SlackApiError as error:
            logger.debug("%s failed: %s", method, error.response.get("error"))
