"""The Bolt app: listeners for @mentions, DMs, thread follow-ups, the agent view and feedback buttons.

Each listener follows slack-bolt's split: matchers and middleware decide (``Triager``, no I/O), ``ack``
answers Slack within its 3-second limit, and the slow work runs as a lazy listener in Bolt's thread
pool (``AnswerFlow``), which only starts the answer and hands it to the answer pool. The same app
serves Socket Mode and the HTTP Events API (``bot.slack.server``).

The agent view is served with plain event listeners rather than Bolt's ``Assistant`` middleware:
that middleware takes every direct-message thread for itself, and questions asked in the agent view
must pass the same guards (dedupe, allow-list, rate limit) and the same flow as any other message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, App, BoltContext, BoltRequest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.answering.course_desk import CourseDesk
from bot.answering.feedback import AnswerLog, UnknownAnswer
from bot.answering.guards import ChannelAllowList, RateLimiter, SeenEvents
from bot.answering.service import AnswerService
from bot.slack.agent import PromptBook, suggest_prompts
from bot.slack.blocks import FEEDBACK_ACTION, FEEDBACK_DOWN, FEEDBACK_UP, feedback_vote
from bot.slack.escalation import register as register_escalation
from bot.slack.flow import AnswerFlow
from bot.slack.triage import Triage, Triager
from pipelines.courses.catalog import CourseCatalog
from pipelines.settings import Settings, SettingsError
from voice.render import VoiceRenderer, get_renderer

logger = logging.getLogger(__name__)

TRIAGE_KEY = "course_ta_triage"
DEFAULT_API_URL = WebClient.BASE_URL


def require_credentials(settings: Settings, mode: str) -> None:
    """One line naming what is missing for ``mode`` (the values are never printed)."""
    missing = []
    if settings.slack_bot_token is None:
        missing.append("SLACK_BOT_TOKEN (xoxb-, OAuth & Permissions)")
    if mode == "socket" and settings.slack_app_token is None:
        missing.append("SLACK_APP_TOKEN (xapp-, Basic Information > App-Level Tokens, scope connections:write)")
    if mode == "http" and settings.slack_signing_secret is None:
        missing.append("SLACK_SIGNING_SECRET (Basic Information > App Credentials)")
    if missing:
        raise SettingsError(f"Slack {mode} mode needs " + " and ".join(missing))


@dataclass
class SlackBot:
    """The Bolt app plus what its listeners share; ``app`` is what the servers run."""

    app: App
    flow: AnswerFlow
    log: AnswerLog
    triager: Triager
    settings: Settings
    executor: ThreadPoolExecutor
    prompts: PromptBook

    def close(self, wait: bool = True) -> None:
        """Stop taking new lazy work, then let the answers already started reach their threads (``wait``)."""
        self.executor.shutdown(wait=wait)
        self.flow.close(wait=wait)


def create_slack_bot(
    settings: Settings,
    service: AnswerService | None = None,
    *,
    mode: str | None = None,
    client: WebClient | None = None,
    renderer: VoiceRenderer | None = None,
    log: AnswerLog | None = None,
    desk: CourseDesk | None = None,
) -> SlackBot:
    """Build the app. ``client`` defaults to a WebClient at ``COURSE_TA_SLACK_API_URL`` (or slack.com)."""
    mode = mode or settings.slack_mode
    require_credentials(settings, mode)
    assert settings.slack_bot_token is not None
    token = settings.slack_bot_token.get_secret_value()
    given_client = client is not None
    client = client or WebClient(token=token, base_url=settings.slack_api_url or DEFAULT_API_URL, timeout=30)
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
    executor = ThreadPoolExecutor(max_workers=settings.slack_workers, thread_name_prefix="slack-listener")
    app = App(
        name="course-ta",
        token=None if given_client else token,  # a given client carries its own token
        client=client,
        signing_secret=secret,
        request_verification_enabled=(mode == "http"),
        listener_executor=executor,
    )
    log = log or AnswerLog(settings.feedback_db_path)
    if renderer is None and settings.slack_voice_clips:
        renderer = get_renderer(settings)
    desk = desk or CourseDesk.for_front_door(settings, service)
    flow = AnswerFlow(settings, desk.default_service(), log, renderer, desk)
    allow, question_channels = _course_guards(settings, desk.catalog)
    triager = Triager(log, allow, RateLimiter(settings.slack_rate_limit, settings.slack_rate_window_s), SeenEvents(), question_channels)

    def follow(catalog: CourseCatalog) -> None:  # an edited courses file reaches the guards as well as the routing
        triager.allow, triager.question_channels = _course_guards(settings, catalog)

    desk.on_change(follow)
    bot = SlackBot(app, flow, log, triager, settings, executor, PromptBook(settings))
    register_escalation(app, settings, log, desk.catalog)  # first: a TA's reply in a TA-channel thread is not a student question
    _register(bot)
    return bot


def _course_guards(settings: Settings, catalog: CourseCatalog) -> tuple[ChannelAllowList, frozenset[str]]:
    """Where the bot answers (an allow-list also admits every course's channels) and the channels answered without a mention."""
    courses = catalog.courses if catalog.explicit else []
    course_channels = {channel for course in courses for channel in course.slack_channels + course.policy.answer_without_mention}
    allowed = set(settings.slack_channel_ids) | course_channels if settings.slack_channel_ids else set()
    return ChannelAllowList(allowed, settings.slack_allow_dms), frozenset(
        c for course in courses for c in course.policy.answer_without_mention
    )


def _register(bot: SlackBot) -> None:
    app = bot.app

    def triage(body: dict[str, Any], context: BoltContext, request: BoltRequest, next: Callable[[], Any]) -> Any:
        retries = request.headers.get("x-slack-retry-num")
        retry = retries[0] if retries else None
        bot.flow.desk.refresh()  # a due look at the courses file first: its channels decide the triage too
        context[TRIAGE_KEY] = bot.triager.triage(body, context.bot_user_id, retry)
        return next()

    def acknowledge(ack: Ack) -> None:
        ack()

    def answer(context: BoltContext, client: WebClient) -> None:
        decision = context.get(TRIAGE_KEY)
        if isinstance(decision, Triage):
            bot.flow.run(decision, client)

    app.event("app_mention", middleware=[triage])(ack=acknowledge, lazy=[answer])
    app.event("message", middleware=[triage])(ack=acknowledge, lazy=[answer])

    def record_feedback(body: dict[str, Any], client: WebClient) -> None:
        """A 👍/👎 click, from the native feedback buttons or the older custom ones, into the answer log."""
        action = (body.get("actions") or [{}])[0]
        user = (body.get("user") or {}).get("id", "")
        channel = (body.get("channel") or {}).get("id", "") or (body.get("container") or {}).get("channel_id", "")
        message = body.get("message") or {}
        parsed = feedback_vote(action)
        try:
            if parsed is None:
                raise UnknownAnswer(str(action.get("value", "")))
            answer_id, vote = parsed
            bot.log.record_vote(answer_id, user, vote)
            text = "Thanks \u2014 your :+1: is recorded." if vote > 0 else "Thanks \u2014 your :-1: is recorded; it helps us fix the gaps."
        except UnknownAnswer:
            text = "I can't find that answer any more (it may come from an older deployment), so the vote was not recorded."
        try:
            client.chat_postEphemeral(channel=channel, user=user, thread_ts=message.get("thread_ts") or message.get("ts"), text=text)
        except SlackApiError as error:
            logger.warning("could not confirm feedback: %s", error.response.get("error"))

    for action_id in (FEEDBACK_ACTION, FEEDBACK_UP, FEEDBACK_DOWN):
        app.action(action_id)(ack=acknowledge, lazy=[record_feedback])

    def thread_started(body: dict[str, Any], client: WebClient) -> None:
        """A new agent-view thread (the side-panel container): offer the course's prompts there."""
        thread = (body.get("event") or {}).get("assistant_thread") or {}
        if thread.get("channel_id") and thread.get("thread_ts"):
            suggest_prompts(client, bot.prompts, thread["channel_id"], thread.get("user_id", ""), thread["thread_ts"])

    def home_opened(body: dict[str, Any], client: WebClient) -> None:
        """The Messages tab opened (where the agent view is the default): the prompts go above the composer."""
        event = body.get("event") or {}
        if event.get("tab") == "messages" and event.get("channel"):
            suggest_prompts(client, bot.prompts, event["channel"], event.get("user", ""))

    app.event("assistant_thread_started")(ack=acknowledge, lazy=[thread_started])
    app.event("app_home_opened")(ack=acknowledge, lazy=[home_opened])
    app.event("assistant_thread_context_changed")(acknowledge)  # the bot does not use the channel the student is viewing
