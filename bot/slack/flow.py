"""The slow half of a question, run by Bolt as a lazy listener after the event was acknowledged.

Order matters and is what the student sees:
1. at once, in the listener thread and never behind anyone else's answer: the "working" reaction, in
   a direct message (the agent view) the thread's status and title, and the answer message itself
   (a native stream, else a placeholder; :mod:`bot.slack.reply`);
2. the question goes to the answer pool (:class:`bot.slack.jobs.AnswerJobs`) and the listener thread
   is free again; while the pool is full the message says how many questions are ahead;
3. the text grows as it is written; the finished answer gets its sources and 👍/👎 buttons;
4. the voice clip is rendered and uploaded to the thread last, so text never waits for audio.
Every path ends in a visible message: a refusal, a too-long question, a search failure and a
missing clip are all explained in the thread.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.answering.course_desk import CourseDesk, DeskTicket
from bot.answering.feedback import AnswerLog, logged_course
from bot.answering.service import AnswerService, QuestionError
from bot.slack.agent import set_searching_status, set_thread_title
from bot.slack.blocks import answer_blocks, fallback_text, notice_blocks
from bot.slack.escalation import offer_ask_ta
from bot.slack.jobs import AnswerJobs
from bot.slack.reply import Reply, StreamingSupport, open_reply
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
        desk: CourseDesk | None = None,
    ) -> None:
        self.settings = settings
        self.service = service
        self.log = log
        self.renderer = renderer
        # Which course a question is for (its channel, a DM's prefix or last course); one course: ``service``.
        self.desk = desk or CourseDesk.for_front_door(settings, service)
        self.jobs = AnswerJobs(service, settings.slack_answer_concurrency)
        self._course_jobs: dict[int, AnswerJobs] = {id(service): self.jobs}
        self.streaming = StreamingSupport()
        # Finishing a message is a few quick Slack calls; it must not hold an answer slot.
        self.delivery = ThreadPoolExecutor(max_workers=4, thread_name_prefix="slack-deliver")
        # Synthesis is CPU-bound: one clip at a time, so it never starves the next student's text.
        self.voice = ThreadPoolExecutor(max_workers=1, thread_name_prefix="slack-voice")
        self._idle = threading.Condition()
        self._pending = 0  # questions handed to the pool whose message (and clip) is not finished

    def run(self, triage: Triage, client: WebClient) -> None:
        """Refuse, answer or ignore as ``triage`` says; returns once the answer is under way, not done."""
        if triage.action == REFUSE:
            self._refuse(triage, client)
            return
        if triage.action != ANSWER:
            return
        try:
            question = self.service.validate(triage.question)
        except QuestionError as error:
            if not triage.unmentioned:
                self._notice(client, triage, str(error), ":pencil2:")
            return
        ticket = self.desk.slack(triage.user, triage.channel, question, direct=triage.direct)
        if ticket.service is None:  # which course? / paused / over the course's rate: only the asker sees why
            if not triage.unmentioned:
                self._refuse(replace(triage, why=ticket.refusal), client)
            return
        question = ticket.question or question
        history = self._history(triage)
        if triage.unmentioned or ticket.private:
            self._answer_quietly(triage, client, ticket, question, history)
            return
        self._react(client, triage, "reactions_add")
        if triage.direct:  # the agent view: a status under the thread, and a title from its first question
            set_searching_status(client, triage.channel, triage.thread_ts)
            if not history:
                set_thread_title(client, triage.channel, triage.thread_ts, question)
        reply = open_reply(client, triage.channel, triage.thread_ts, triage.user, triage.team, self.streaming)
        self._begin()
        try:
            future = self._jobs(ticket.service).submit(
                question, history, on_text=reply.write, on_queued=reply.queued, on_start=reply.searching, hint=ticket.hint
            )
        except Exception as error:  # refused before it was queued (draining, a shut-down pool)
            self._failed(client, triage, reply, error)
            self._end()
            return
        course = logged_course(self.desk, ticket.course)
        future.add_done_callback(lambda done: self._deliver_later(done, triage, client, reply, course))
        self._charge(ticket, future)

    def _jobs(self, service: AnswerService) -> AnswerJobs:
        """The answer jobs of one course's service (every course shares the same kind of queue)."""
        jobs = self._course_jobs.get(id(service))
        if jobs is None:
            jobs = self._course_jobs.setdefault(id(service), AnswerJobs(service, self.settings.slack_answer_concurrency))
        return jobs

    def _charge(self, ticket: DeskTicket, future: Future[Answer]) -> None:
        """Charge the course's daily LLM budget once the answer is done."""
        course, service = ticket.course, ticket.service
        if course is not None and service is not None:
            future.add_done_callback(lambda _: self.desk.record_spend(course, service))

    # -- answers without a visible "working" phase ---------------------------------------------------
    def _answer_quietly(self, triage: Triage, client: WebClient, ticket: DeskTicket, question: str, history: list[Turn]) -> None:
        """No reaction, no placeholder: an unmentioned question is answered only when the lectures cover it,
        and a course's private answer goes to the asker alone (an ephemeral message)."""
        assert ticket.service is not None
        self._begin()
        try:
            future = ticket.service.submit(question, history, hint=ticket.hint)
        except Exception:
            logger.exception("answering %s in %s failed", triage.ts, triage.channel)
            self._end()
            return
        self._charge(ticket, future)
        future.add_done_callback(lambda done: self._deliver_quietly_later(done, triage, client, ticket))

    def _deliver_quietly_later(self, future: Future[Answer], triage: Triage, client: WebClient, ticket: DeskTicket) -> None:
        try:
            self.delivery.submit(self._deliver_quietly, future, triage, client, ticket)
        except RuntimeError:
            self._deliver_quietly(future, triage, client, ticket)

    def _deliver_quietly(self, future: Future[Answer], triage: Triage, client: WebClient, ticket: DeskTicket) -> None:
        try:
            try:
                answer = future.result()
            except Exception as error:
                if triage.unmentioned:  # nobody asked the bot: a failure stays in the log
                    logger.warning("unmentioned question %s in %s not answered: %s", triage.ts, triage.channel, error)
                    return
                self._refuse(replace(triage, why=str(error) if isinstance(error, QuestionError) else failure_message(error)), client)
                return
            if triage.unmentioned and not answer.grounded:
                logger.info("message %s in %s left alone: the lectures don't cover it", triage.ts, triage.channel)
                return
            answer_id = self.log.record_answer(
                PLATFORM, triage.channel, triage.thread_ts, triage.user, answer, course=logged_course(self.desk, ticket.course)
            )
            if ticket.private:
                client.chat_postEphemeral(
                    channel=triage.channel,
                    user=triage.user,
                    thread_ts=triage.thread_ts if triage.follow_up else None,
                    text=fallback_text(answer.text),
                    blocks=answer_blocks(answer, answer_id),
                )
                return  # Slack has no ephemeral files: a private answer comes without its clip
            reply = open_reply(client, triage.channel, triage.thread_ts, triage.user, triage.team, self.streaming)
            reply.finish(answer, answer_id)
            if reply.ts:
                self.log.set_message(answer_id, reply.ts)
            self._speak_later(client, triage, reply, answer, answer_id)
        except Exception:
            logger.exception("delivering the answer to %s in %s failed", triage.ts, triage.channel)
        finally:
            self._end()

    def close(self, wait: bool = True) -> None:
        """Let every question already handed over finish its message and clip (``wait``), then stop the pools."""
        if wait:
            with self._idle:
                self._idle.wait_for(lambda: self._pending == 0)
        self.jobs.close(wait=wait)
        self.delivery.shutdown(wait=wait)
        self.voice.shutdown(wait=wait)

    # -- after the answer --------------------------------------------------------------------------
    def _deliver_later(self, future: Future[Answer], triage: Triage, client: WebClient, reply: Reply, course: str = "") -> None:
        try:
            self.delivery.submit(self._deliver, future, triage, client, reply, course)
        except RuntimeError:  # shutting down: deliver in this thread rather than lose the answer
            self._deliver(future, triage, client, reply, course)

    def _deliver(self, future: Future[Answer], triage: Triage, client: WebClient, reply: Reply, course: str = "") -> None:
        try:
            try:
                answer = future.result()
            except Exception as error:
                self._failed(client, triage, reply, error)
                return
            answer_id = self.log.record_answer(PLATFORM, triage.channel, triage.thread_ts, triage.user, answer, course=course)
            reply.finish(answer, answer_id)
            if reply.ts:
                self.log.set_message(answer_id, reply.ts)
            offer_ask_ta(client, self.settings, triage.channel, triage.user, triage.thread_ts, answer_id, course, self.desk.catalog)
            self._react(client, triage, "reactions_remove")
            self._speak_later(client, triage, reply, answer, answer_id)
        except Exception:
            logger.exception("delivering the answer to %s in %s failed", triage.ts, triage.channel)
        finally:
            self._end()

    def _speak_later(self, client: WebClient, triage: Triage, reply: Reply, answer: Answer, answer_id: str) -> None:
        """Queue the voice clip for the thread, after the text (when clips are on)."""
        if not (self.settings.slack_voice_clips and self.renderer is not None):
            return
        self._begin()
        try:
            self.voice.submit(self._voice, client, triage, reply, answer, answer_id)
        except RuntimeError:  # shutting down: the text is delivered, the clip is skipped
            self._end()

    def _failed(self, client: WebClient, triage: Triage, reply: Reply, error: BaseException) -> None:
        if isinstance(error, QuestionError):
            reply.notice(str(error), ":pencil2:")
        else:
            logger.error("answering %s in %s failed", triage.ts, triage.channel, exc_info=error)
            reply.notice(failure_message(error) if isinstance(error, Exception) else "Sorry \u2014 something went wrong.")
        self._react(client, triage, "reactions_remove")

    def _voice(self, client: WebClient, triage: Triage, reply: Reply, answer: Answer, answer_id: str) -> None:
        try:
            assert self.renderer is not None
            outcome = upload_voice_clip(client, self.renderer, answer.text, triage.channel, triage.thread_ts)
            if outcome.note:
                reply.amend(answer, answer_id, (outcome.note,))
        except Exception:
            logger.exception("the voice clip for %s in %s failed", triage.ts, triage.channel)
        finally:
            self._end()

    def _begin(self) -> None:
        with self._idle:
            self._pending += 1

    def _end(self) -> None:
        with self._idle:
            self._pending -= 1
            self._idle.notify_all()

    # -- small things ------------------------------------------------------------------------------
    def _history(self, triage: Triage) -> list[Turn]:
        if not triage.follow_up:
            return []
        return self.log.thread_turns(PLATFORM, triage.channel, triage.thread_ts, HISTORY_TURNS)

    def _refuse(self, triage: Triage, client: WebClient) -> None:
        """Refusals concern only the asker: an ephemeral message, in the thread when there is one.

        The refusal is the bot's own sentence (it may link the channels to ask in), never user content.
        """
        try:
            client.chat_postEphemeral(
                channel=triage.channel, user=triage.user, thread_ts=triage.thread_ts if triage.follow_up else None, text=triage.why
            )
        except SlackApiError as error:
            logger.warning("could not tell %s why: %s", triage.user, error.response.get("error"))

    def _notice(self, client: WebClient, triage: Triage, text: str, emoji: str) -> None:
        try:
            client.chat_postMessage(
                channel=triage.channel, thread_ts=triage.thread_ts, text=fallback_text(text), blocks=notice_blocks(text, emoji)
            )
        except SlackApiError as error:
            logger.warning("could not reply in %s: %s", triage.channel, error.response.get("error"))

    def _react(self, client: WebClient, triage: Triage, method: str) -> None:
        """The 'working' reaction on the question; cosmetic, so a failure is only logged."""
        try:
            getattr(client, method)(channel=triage.channel, timestamp=triage.ts, name=self.settings.slack_working_reaction)
        except SlackApiError as error:
            logger.debug("%s failed: %s", method, error.response.get("error"))
