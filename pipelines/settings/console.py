"""The instructor console (`course-ta console`): where it listens, its session key, the human-TA hand-off, retention."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, SecretStr

from pipelines.settings.validators import discord_id, optional, secret, shaped, unset_if_blank

SLACK_CHANNEL = shaped(r"[CG][A-Z0-9]{2,}", "a Slack channel id (C… or G…)")


def _proxy_count(value: object) -> object:
    """Say what the setting is when someone writes a proxy's address where the count of proxies goes."""
    if isinstance(value, str) and value.strip() and not value.strip().lstrip("+-").isdigit():
        raise ValueError(f"the number of reverse proxies in front of the console (0-10), not an address or name: {value.strip()[:40]!r}")
    return value


class ConsoleSettings(BaseModel):
    """The console binds to localhost unless told otherwise; the TA hand-off is off until a TA channel is named."""

    console_host: str = "127.0.0.1"
    console_port: int = Field(default=8765, ge=0, le=65_535)
    # Signs the console's session cookies; empty = a random key kept in DATA_DIR/console/session.key.
    console_secret: Annotated[
        SecretStr | None, AfterValidator(secret(min_length=16, problem="CONSOLE_SECRET needs at least 16 characters"))
    ] = None
    # "Ask a TA": the Slack channel (id) and the Discord channel (id) where escalations are posted, and
    # the Discord role mentioned there. Without a channel the button is not shown on that platform.
    console_ta_slack_channel: Annotated[str | None, BeforeValidator(unset_if_blank), AfterValidator(optional(SLACK_CHANNEL))] = None
    console_ta_discord_channel: Annotated[str | None, BeforeValidator(unset_if_blank), AfterValidator(optional(discord_id))] = None
    console_ta_discord_role: Annotated[str | None, BeforeValidator(unset_if_blank), AfterValidator(optional(discord_id))] = None
    # How many reverse proxies in front of the console append X-Forwarded-For/-Proto; 0 trusts none of those headers.
    console_trusted_proxies: Annotated[int, BeforeValidator(_proxy_count)] = Field(default=0, ge=0, le=10)
    # Question, answer and reply texts older than this are deleted (counts, votes and timestamps stay); 0 keeps them.
    console_retention_days: int = Field(default=180, ge=0, le=36_500)
