"""Delivering a TA's reply into the student's thread: Slack's chat.postMessage, or a Discord channel message over REST."""

from __future__ import annotations

from typing import Protocol

import httpx
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.answering.escalations import Escalation
from pipelines.settings import Settings

DISCORD_API = "https://discord.com/api/v10"


class RelayError(RuntimeError):
    """The platform refused the reply; the message says what it answered (never a token)."""


class Relay(Protocol):
    """Posts a TA's reply where the student will see it."""

    def send(self, escalation: Escalation, reply: str) -> None:
        """Deliver ``reply`` into the escalation's thread; :class:`RelayError` when refused."""
        ...


def reply_text(reply: str, mention: str | None) -> str:
    """What the student reads: who answers (a TA, not the bot) and the reply as typed."""
    head = f"{mention} " if mention else ""
    return f"{head}A TA answered your question:\n{reply.strip()}"


class SlackRelay:
    """A thread reply through the Web API (``chat.postMessage`` with ``thread_ts``)."""

    def __init__(self, client: WebClient) -> None:
        self.client = client

    def send(self, escalation: Escalation, reply: str) -> None:
        """Post in the student's thread, mentioning them so they are notified."""
        mention = f"<@{escalation.user}>" if escalation.user and not escalation.user.startswith("s-") else None
        text = reply_text(reply, mention)
        try:
            self.client.chat_postMessage(channel=escalation.channel, thread_ts=escalation.thread, text=text)
        except SlackApiError as error:
            raise RelayError(f"Slack refused the reply: {error.response.get('error')}") from None


class DiscordRelay:
    """A channel message over Discord's REST API, replying to the answer message when it is known."""

    def __init__(self, token: str, base_url: str = DISCORD_API, timeout: float = 15.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def send(self, escalation: Escalation, reply: str) -> None:
        """POST ``/channels/{id}/messages``; only the student is mentioned."""
        user = escalation.user if escalation.user and escalation.user.isdigit() else None
        body: dict[str, object] = {
            "content": reply_text(reply, f"<@{user}>" if user else None)[:2000],
            "allowed_mentions": {"parse": [], "users": [user] if user else []},
        }
        if escalation.message and escalation.message.isdigit():
            body["message_reference"] = {"message_id": escalation.message, "fail_if_not_exists": False}
        try:
            response = httpx.post(
                f"{self.base_url}/channels/{escalation.thread}/messages",
                json=body,
                headers={"Authorization": f"Bot {self.token}", "User-Agent": "DiscordBot (course-ta, 0.1)"},
                timeout=self.timeout,
            )
        except httpx.HTTPError as error:
            raise RelayError(f"Discord could not be reached: {type(error).__name__}") from None
        if response.status_code >= 300:
            try:
                detail = response.json().get("message", "")
            except ValueError:
                detail = ""
            raise RelayError(f"Discord refused the reply: HTTP {response.status_code} {detail}".strip())


def relays_from_settings(settings: Settings, discord_base_url: str | None = None) -> dict[str, Relay]:
    """The relays the credentials allow: ``slack`` with a bot token, ``discord`` with a bot token."""
    relays: dict[str, Relay] = {}
    if settings.slack_bot_token is not None:
        client = WebClient(
            token=settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url or WebClient.BASE_URL, timeout=30
        )
        relays["slack"] = SlackRelay(client)
    if settings.discord_token is not None:
        relays["discord"] = DiscordRelay(settings.discord_token.get_secret_value(), discord_base_url or DISCORD_API)
    return relays
