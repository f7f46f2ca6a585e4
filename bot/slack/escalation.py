"""Slack's side of the human TA: an "Ask a TA" button under answers, the post in the TA channel, and TA replies relayed back.

The TA channel of an escalation is its course's ``ta_slack_channel`` (courses file) when the course
names one, else ``COURSE_TA_CONSOLE_TA_SLACK_CHANNEL`` (:class:`TAChannels`). With neither set
nothing here is shown or registered. Otherwise:

- :func:`offer_ask_ta` shows the asker, and only them, an "Ask a TA" button in the answer's thread
  when the answer's course or the deployment has a TA channel (an ephemeral message, so
  classmates' threads stay clean; it carries the answer id);
- pressing it records an escalation in the answer log, posts the question and the bot's answer in
  the TA channel of the answer's course, and tells the student (ephemerally) that a TA was asked;
- a TA's reply in that post's thread (in any of the TA channels) is posted into the student's thread and resolves the escalation
  (the console can answer it as well, from the escalations page).

Registered with :func:`register` before the answering listeners, so a message in a TA-post thread is
matched here first and never taken for a student question.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.answering.escalations import RESOLVED, EscalationLog, TAChannels
from bot.answering.feedback import AnswerLog
from bot.console.relay import RelayError, SlackRelay
from bot.slack.blocks import Block, context, escape, section, shorten
from pipelines.courses.catalog import CourseCatalog
from pipelines.settings import Settings

logger = logging.getLogger(__name__)

ASK_TA = "ask_ta"
PLATFORM = "slack"
ASKED = "A TA has been asked; their reply will appear in this thread."
ALREADY = "A TA has already been asked about this answer; their reply will appear in this thread."
UNKNOWN = "I can't find that answer any more, so I couldn't pass it on. Please ask the course staff directly."


def ask_ta_block(answer_id: str) -> Block:
    """The "Ask a TA" button; its value is the answer id."""
    return {
        "type": "actions",
        "block_id": f"ask_ta:{answer_id}",
        "elements": [
            {
                "type": "button",
                "action_id": ASK_TA,
                "value": answer_id,
                "text": {"type": "plain_text", "text": ":raising_hand: Ask a TA", "emoji": True},
            }
        ],
    }


OFFER = "Not what you needed? A human TA can answer it."


def offer_ask_ta(
    client: WebClient,
    settings: Settings,
    channel: str,
    user: str | None,
    thread: str,
    answer_id: str | None,
    course: str = "",
    catalog: CourseCatalog | None = None,
) -> None:
    """Show the asker the "Ask a TA" button under their answer; nothing when the answer's course (the id the
    answer log records; ``catalog`` defaults to the courses file) has no TA channel, nor the deployment."""
    if not answer_id or not user:
        return
    ta_channel = settings.console_ta_slack_channel if not course else TAChannels.of(settings, catalog).slack(course)
    if not ta_channel:
        return
    try:
        client.chat_postEphemeral(
            channel=channel, user=user, thread_ts=thread, text=OFFER, blocks=[context(f":raising_hand: {OFFER}"), ask_ta_block(answer_id)]
        )
    except SlackApiError as error:  # the answer is delivered either way
        logger.warning("could not offer a TA to %s: %s", user, error.response.get("error"))


def ta_post_blocks(question: str, answer: str, student: str, channel: str) -> list[Block]:
    """The TA-channel post: who asked where, the question, the bot's answer, how to reply."""
    return [
        section(f":raising_hand: *<@{student}> asked for a TA* in <#{channel}>\n>{escape(shorten(question, 2800))}"),
        section(f"*The bot answered:*\n{escape(shorten(answer, 2800))}"),
        context("Reply in this thread and it is posted to the student, or answer from the instructor console."),
    ]


def register(app: App, settings: Settings, log: AnswerLog, catalog: CourseCatalog | None = None) -> None:
    """Add the button's action and the TA-thread listener to ``app``; nothing when no TA channel is configured.

    ``catalog`` (default: the deployment's courses file) names the courses' own TA channels.
    """
    channels = TAChannels.of(settings, catalog)
    ta_channels = channels.all_slack()
    if not ta_channels:
        return
    escalations = EscalationLog(log.path)

    def acknowledge(ack: Ack) -> None:
        ack()

    def ask_ta(body: dict[str, Any], client: WebClient) -> None:
        action = (body.get("actions") or [{}])[0]
        student = (body.get("user") or {}).get("id", "")
        channel = (body.get("channel") or {}).get("id", "") or (body.get("container") or {}).get("channel_id", "")
        message = body.get("message") or {}  # absent when the button sits in an ephemeral message
        found = log.get(str(action.get("value", "")))
        if found is None:
            _tell(client, channel, student, message.get("thread_ts") or message.get("ts") or "", UNKNOWN)
            return
        thread = found["thread"]
        escalation, created = escalations.open(
            PLATFORM,
            found["channel"],
            found["thread"],
            student,
            found["question"],
            found["answer"],
            answer_id=found["id"],
            message=found.get("message"),
            course=found.get("course") or "",
        )
        if not created:
            _tell(client, channel, student, thread, ALREADY)
            return
        ta_channel = channels.slack(escalation.course)
        if not ta_channel:  # a course without a TA channel (an offer made before the settings changed)
            logger.warning("escalation %s of course %r has no TA channel; it waits in the console", escalation.id, escalation.course)
            _tell(client, channel, student, thread, ASKED)
            return
        try:
            posted = client.chat_postMessage(
                channel=ta_channel,
                text=f"A student asked for a TA: {shorten(found['question'], 300)}",
                blocks=ta_post_blocks(found["question"], found["answer"], student, found["channel"]),
            )
            escalations.set_ta_post(escalation.id, ta_channel, str(posted["ts"]))
        except SlackApiError as error:  # the console still lists it; the student is still told
            logger.warning("could not post escalation %s to the TA channel: %s", escalation.id, error.response.get("error"))
        _tell(client, channel, student, thread, ASKED)

    app.action(ASK_TA)(ack=acknowledge, lazy=[ask_ta])

    def in_ta_thread(body: dict[str, Any]) -> bool:
        event = body.get("event") or {}
        return (
            event.get("channel") in ta_channels
            and bool(event.get("thread_ts"))
            and event.get("thread_ts") != event.get("ts")
            and not event.get("bot_id")
            and not event.get("subtype")
            and bool(event.get("user"))
        )

    def relay_reply(body: dict[str, Any], client: WebClient) -> None:
        event = body.get("event") or {}
        ta_channel = str(event.get("channel"))
        escalation = escalations.by_ta_post(PLATFORM, ta_channel, str(event.get("thread_ts")))
        if escalation is None or escalation.status == RESOLVED:
            return
        reply = str(event.get("text") or "").strip()
        if not reply:
            return
        try:
            SlackRelay(client).send(escalation, reply)
        except RelayError as error:
            escalations.fail(escalation.id, reply, str(error))
            _confirm(client, ta_channel, str(event.get("thread_ts")), f":warning: Not delivered: {error}")
            return
        escalations.resolve(escalation.id, reply, f"slack:{event.get('user')}")
        _confirm(client, ta_channel, str(event.get("thread_ts")), ":white_check_mark: Sent to the student; the escalation is resolved.")

    matcher: Callable[..., bool] = in_ta_thread
    app.event("message", matchers=[matcher])(ack=acknowledge, lazy=[relay_reply])


def _tell(client: WebClient, channel: str, user: str, thread: str, text: str) -> None:
    try:
        client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread or None, text=text)
    except SlackApiError as error:
        logger.warning("could not tell %s about the escalation: %s", user, error.response.get("error"))


def _confirm(client: WebClient, channel: str, thread: str, text: str) -> None:
    try:
        client.chat_postMessage(channel=channel, thread_ts=thread, text=text)
    except SlackApiError as error:
        logger.warning("could not confirm in the TA thread: %s", error.response.get("error"))
