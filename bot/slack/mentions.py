"""Turn a Slack message's mrkdwn into the plain question the AnswerService expects.

Slack sends ``<@U123>`` for mentions, ``<#C1|name>`` for channels, ``<https://x|label>`` for links and
escapes ``& < >``. The bot's own mention is dropped (it is how the student addressed us, not part of
the question); other references become readable text so they can still be searched.
"""

from __future__ import annotations

import re

_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_CHANNEL = re.compile(r"<#[CG][A-Z0-9]+\|([^>]*)>")
_CHANNEL_BARE = re.compile(r"<#([CG][A-Z0-9]+)>")
_SPECIAL = re.compile(r"<!(here|channel|everyone)(?:\|[^>]*)?>")
_SUBTEAM = re.compile(r"<!subteam\^[A-Z0-9]+(?:\|([^>]*))?>")
_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)(?:\|([^>]*))?>")


def question_text(text: str, bot_user_id: str | None) -> str:
    """The student's question without our mention, with Slack markup resolved and whitespace collapsed."""

    def user(match: re.Match[str]) -> str:
        return "" if match.group(1) == bot_user_id else "@someone"

    cleaned = _USER.sub(user, text or "")
    cleaned = _CHANNEL.sub(lambda m: f"#{m.group(1)}", cleaned)
    cleaned = _CHANNEL_BARE.sub("#channel", cleaned)
    cleaned = _SPECIAL.sub("", cleaned)
    cleaned = _SUBTEAM.sub(lambda m: m.group(1) or "@group", cleaned)
    cleaned = _LINK.sub(lambda m: m.group(2) or m.group(1), cleaned)
    cleaned = cleaned.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return " ".join(cleaned.split())
