"""Decide, inside the 3-second acknowledgement window, what an incoming event deserves.

Runs as Bolt listener middleware (synchronously, before ``ack``), so the decision travels to the lazy
answer function in the request context. It does no network I/O: other bots and our own messages are
ignored, redeliveries (``X-Slack-Retry-Num``, or one message arriving both as ``app_mention`` and as
``message``) are claimed once, and the channel allow-list and per-user rate limit are applied.
A refusal carries the sentence the student will see.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from bot.answering.feedback import AnswerLog
from bot.answering.guards import ChannelAllowList, RateLimiter, SeenEvents, looks_like_question
from bot.slack.mentions import question_text

logger = logging.getLogger(__name__)

PLATFORM = "slack"
ANSWER, IGNORE, REFUSE = "answer", "ignore", "refuse"
# Message subtypes that are a person writing; everything else (edits, joins, bot posts) is ignored.
_HUMAN_SUBTYPES = (None, "thread_broadcast", "file_share")


@dataclass
class Triage:
    """What to do with one event. Plain data: Bolt deep-copies it into the lazy listener's context."""

    action: str
    why: str = ""  # for logs (ignore) or for the student (refuse)
    channel: str = ""
    user: str = ""
    ts: str = ""
    thread_ts: str = ""  # where the reply goes: the question's thread, or the question itself
    question: str = ""
    follow_up: bool = False
    direct: bool = False
    team: str = ""  # the asker's workspace: a stream in a channel names its recipient (user and team)
    unmentioned: bool = False  # asked in a question channel without a mention: answered only when the lectures cover it


def _ignore(why: str) -> Triage:
    return Triage(IGNORE, why)


class Triager:
    """Applies the guards to an event: ignore, refuse (with the reason) or answer."""

    def __init__(
        self,
        log: AnswerLog,
        allow: ChannelAllowList,
        limiter: RateLimiter,
        seen: SeenEvents,
        question_channels: frozenset[str] = frozenset(),
    ) -> None:
        self.log = log
        self.allow = allow
        self.limiter = limiter
        self.seen = seen
        # Channels whose courses answer every question without a mention (chatter is held back later).
        self.question_channels = question_channels

    def triage(self, body: dict[str, Any], bot_user_id: str | None, retry_num: str | None = None) -> Triage:
        """The decision for one Events API body; ``retry_num`` (``X-Slack-Retry-Num``) is only logged."""
        event = body.get("event") or {}
        kind = event.get("type")
        if event.get("bot_id") or event.get("subtype") == "bot_message" or event.get("app_id"):
            return _ignore("a bot's message")
        user = event.get("user") or ""
        if not user or user == bot_user_id:
            return _ignore("no human author")
        if event.get("subtype") not in _HUMAN_SUBTYPES:
            return _ignore(f"message subtype {event.get('subtype')}")
        channel, ts = event.get("channel") or "", event.get("ts") or ""
        parent: str = event.get("thread_ts") or ""
        in_thread = bool(parent) and parent != ts
        direct = event.get("channel_type") == "im" or channel.startswith("D")
        unmentioned = False
        if kind == "message" and not direct:
            text = event.get("text") or ""
            mentioned = bool(bot_user_id) and f"<@{bot_user_id}>" in text
            if not in_thread and channel in self.question_channels and not mentioned:
                if not looks_like_question(question_text(text, bot_user_id)):
                    return _ignore("chatter in a question channel")
                unmentioned = True
            # In channels, only replies in threads the bot answered are for us (mentions come as app_mention).
            elif not in_thread or not self.log.answered_thread(PLATFORM, channel, parent):
                return _ignore("a channel message outside the bot's threads")
        elif kind not in ("app_mention", "message"):
            return _ignore(f"event {kind}")
        team = body.get("team_id") or event.get("team") or ""
        if not self.seen.claim(f"event:{body.get('event_id', '')}", f"message:{team}:{channel}:{ts}"):
            logger.info("duplicate delivery of %s %s (retry %s) ignored", kind, body.get("event_id"), retry_num or "0")
            return _ignore("already handled")
        decision = Triage(
            ANSWER,
            channel=channel,
            user=user,
            ts=ts,
            thread_ts=parent if in_thread else ts,
            question=question_text(event.get("text") or "", bot_user_id),
            follow_up=in_thread,
            direct=direct,
            team=event.get("user_team") or event.get("team") or team,
            unmentioned=unmentioned,
        )
        access = self.allow.check(channel, direct, mention=lambda c: f"<#{c}>")
        rate = self.limiter.check(f"{team}:{user}") if access.allowed else None
        if unmentioned and not (access.allowed and rate is not None and rate.allowed):
            return _ignore("an unmentioned question the bot may not answer here or now")  # never refuse someone who didn't ask the bot
        if not access.allowed:
            decision.action, decision.why = REFUSE, access.reason
            return decision
        if rate is not None and not rate.allowed:
            decision.action, decision.why = REFUSE, rate.message()
        return decision
