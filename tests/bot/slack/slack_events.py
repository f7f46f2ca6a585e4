"""Events API requests as Slack sends them: real payload shapes, signed with the signing secret.

The signature is computed here from Slack's documented recipe (``v0:{timestamp}:{body}``, HMAC-SHA256),
not with the SDK's helper, so the app's verification is checked against an independent implementation.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

_ids = itertools.count(1)


def sign(secret: str, body: str, timestamp: int | None = None) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}


def _rich_text(text: str) -> list[dict[str, Any]]:
    return [
        {"type": "rich_text", "block_id": "q1", "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}]}
    ]


def event_callback(event: dict[str, Any], team_id: str, bot_user_id: str) -> dict[str, Any]:
    number = next(_ids)
    return {
        "token": "legacy-verification-token",
        "team_id": team_id,
        "context_team_id": team_id,
        "api_app_id": "A0COURSETA",
        "event": event,
        "type": "event_callback",
        "event_id": f"Ev{number:010d}",
        "event_time": int(time.time()),
        "authorizations": [
            {"enterprise_id": None, "team_id": team_id, "user_id": bot_user_id, "is_bot": True, "is_enterprise_install": False}
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-eyJldCI6ImFwcF9tZW50aW9uIn0-{number}",
    }


def new_ts() -> str:
    return f"{int(time.time())}.{next(_ids):06d}"


def mention(text: str, channel: str, user: str, team_id: str, bot_user_id: str, thread_ts: str | None = None) -> dict[str, Any]:
    """``app_mention``: the text starts with ``<@BOT>`` the way Slack renders a mention."""
    ts = new_ts()
    event: dict[str, Any] = {
        "type": "app_mention",
        "user": user,
        "ts": ts,
        "client_msg_id": f"c{ts}",
        "text": f"<@{bot_user_id}> {text}",
        "team": team_id,
        "blocks": _rich_text(text),
        "channel": channel,
        "event_ts": ts,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
        event["parent_user_id"] = bot_user_id
    return event_callback(event, team_id, bot_user_id)


def message(
    text: str,
    channel: str,
    user: str | None,
    team_id: str,
    bot_user_id: str,
    channel_type: str = "channel",
    thread_ts: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """``message.channels`` / ``message.im``: plain messages (``extra`` adds bot_id, subtype, ...)."""
    ts = new_ts()
    event: dict[str, Any] = {
        "type": "message",
        "ts": ts,
        "text": text,
        "team": team_id,
        "channel": channel,
        "event_ts": ts,
        "channel_type": channel_type,
        "blocks": _rich_text(text),
    }
    if user:
        event["user"] = user
        event["client_msg_id"] = f"c{ts}"
    if thread_ts:
        event["thread_ts"] = thread_ts
    event.update(extra)
    return event_callback(event, team_id, bot_user_id)


def block_action(
    action_id: str, value: str, user: str, channel: str, message_ts: str, thread_ts: str, team_id: str, element: str = "button"
) -> str:
    """A ``block_actions`` interaction: a form body with a ``payload`` JSON field.

    ``element="feedback_buttons"`` is a click on Slack's native 👍/👎: the action carries the clicked
    button's ``value`` and its text, in a ``context_actions`` block.
    """
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": "student", "team_id": team_id},
        "api_app_id": "A0COURSETA",
        "token": "legacy-verification-token",
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel, "is_ephemeral": False},
        "trigger_id": "1.2.3",
        "team": {"id": team_id, "domain": "course"},
        "channel": {"id": channel, "name": "course-questions"},
        "message": {"type": "message", "ts": message_ts, "thread_ts": thread_ts, "text": "answer"},
        "response_url": "http://127.0.0.1:9/never-used",
        "actions": [
            {
                "action_id": action_id,
                "block_id": f"feedback:{value.rpartition(':')[2]}",
                "value": value,
                "type": element,
                "text": {"type": "plain_text", "text": "Helpful"},
                "action_ts": new_ts(),
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)})


@dataclass
class Delivery:
    status: int
    body: str
    seconds: float


def deliver(
    url: str,
    body: str,
    secret: str,
    content_type: str = "application/json",
    extra_headers: dict[str, str] | None = None,
    signature: dict[str, str] | None = None,
) -> Delivery:
    """POST as Slack does, through real HTTP; returns status, body and how long the ack took."""
    headers = {"Content-Type": content_type, **(signature or sign(secret, body)), **(extra_headers or {})}
    request = urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return Delivery(response.status, response.read().decode(), time.perf_counter() - started)
    except urllib.error.HTTPError as error:
        return Delivery(error.code, error.read().decode(), time.perf_counter() - started)
