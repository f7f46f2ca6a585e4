"""The Slack front door: credentials, Socket Mode or Events API, where it answers, and its rate limits."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, AliasChoices, BaseModel, Field, SecretStr

from pipelines.settings.validators import comma_list, http_url, one_of, optional, secret, shaped

BOT_TOKEN = secret(prefix="xoxb-", problem="SLACK_BOT_TOKEN must be a bot token starting with xoxb-")
APP_TOKEN = secret(prefix="xapp-", problem="SLACK_APP_TOKEN must be an app-level token starting with xapp-")
SIGNING_SECRET = secret(
    min_length=16, problem="SLACK_SIGNING_SECRET looks truncated (Basic Information > App Credentials > Signing Secret)"
)
CHANNEL_ID = shaped(r"[CG][A-Z0-9]{2,}", "a Slack channel id (C… or G…)")


class SlackSettings(BaseModel):
    """How the Slack bot connects and whom it answers; tokens are never logged or echoed."""

    # Tokens use Slack's standard names (COURSE_TA_-prefixed names work too).
    slack_bot_token: Annotated[SecretStr | None, AfterValidator(BOT_TOKEN)] = Field(
        default=None, validation_alias=AliasChoices("slack_bot_token", "SLACK_BOT_TOKEN", "COURSE_TA_SLACK_BOT_TOKEN")
    )
    slack_app_token: Annotated[SecretStr | None, AfterValidator(APP_TOKEN)] = Field(
        default=None, validation_alias=AliasChoices("slack_app_token", "SLACK_APP_TOKEN", "COURSE_TA_SLACK_APP_TOKEN")
    )
    slack_signing_secret: Annotated[SecretStr | None, AfterValidator(SIGNING_SECRET)] = Field(
        default=None, validation_alias=AliasChoices("slack_signing_secret", "SLACK_SIGNING_SECRET", "COURSE_TA_SLACK_SIGNING_SECRET")
    )
    # socket: Socket Mode (no public URL, needs SLACK_APP_TOKEN); http: Events API (needs SLACK_SIGNING_SECRET).
    slack_mode: Annotated[str, AfterValidator(one_of("socket", "http", case="lower"))] = "socket"
    slack_http_host: str = "0.0.0.0"
    slack_http_port: int = Field(default=3000, ge=1, le=65_535)
    slack_http_path: Annotated[str, AfterValidator(shaped(r"/[A-Za-z0-9/_.-]*", "a URL path starting with /"))] = "/slack/events"
    # Web API base URL (Enterprise proxies, local test servers); empty = https://slack.com/api/.
    slack_api_url: Annotated[str | None, AfterValidator(optional(http_url(trailing_slash=True)))] = None
    # Channel IDs the bot answers in (comma-separated); empty = every channel it was invited to.
    slack_channels: Annotated[str, AfterValidator(comma_list(CHANNEL_ID, describe="Slack channel ids"))] = ""
    slack_allow_dms: bool = True
    # Per-user rate limit: at most this many questions per window.
    slack_rate_limit: int = Field(default=6, ge=1, le=10_000)
    slack_rate_window_s: float = Field(default=60.0, gt=0.0, le=86_400.0)
    # Threads for Bolt's listeners (they only start answers, never wait for one). Answers run in the shared answer
    # pool (COURSE_TA_ANSWER_WORKERS); slack_answer_concurrency sizes Slack's own pool only for a service without one.
    slack_workers: int = Field(default=16, ge=2, le=256)
    slack_answer_concurrency: int = Field(default=2, ge=1, le=64)
    slack_working_reaction: Annotated[
        str, AfterValidator(shaped(r"[a-z0-9_+-]{1,64}", "a Slack emoji name such as hourglass_flowing_sand"))
    ] = "hourglass_flowing_sand"
    slack_voice_clips: bool = True

    @property
    def slack_channel_ids(self) -> frozenset[str]:
        """The channels the bot answers in; empty means every channel it was invited to."""
        return frozenset(part for part in self.slack_channels.split(",") if part)
