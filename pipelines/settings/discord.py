"""The Discord front door: the bot token, where it answers, command sync, cooldowns and voice channels."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, AliasChoices, BaseModel, Field, SecretStr

from pipelines.settings.validators import comma_list, discord_id, one_of, optional, secret

DISCORD_IDS = comma_list(discord_id, describe="Discord ids")


class DiscordSettings(BaseModel):
    """How the Discord bot connects and where it answers; the token is never printed."""

    # Read from DISCORD_TOKEN (or COURSE_TA_DISCORD_TOKEN).
    discord_token: Annotated[SecretStr | None, AfterValidator(secret())] = Field(
        default=None, validation_alias=AliasChoices("discord_token", "COURSE_TA_DISCORD_TOKEN", "DISCORD_TOKEN")
    )
    discord_client_id: Annotated[str | None, AfterValidator(optional(discord_id))] = None  # for `course-ta discord invite-url`
    # Commands sync to this guild at start (instant); empty = global sync (can take up to an hour).
    discord_test_guild_id: Annotated[str | None, AfterValidator(optional(discord_id))] = None
    # Comma-separated guild / channel ids; empty = everywhere the bot is invited.
    discord_allowed_guilds: Annotated[str, AfterValidator(DISCORD_IDS)] = ""
    discord_allowed_channels: Annotated[str, AfterValidator(DISCORD_IDS)] = ""
    discord_cooldown_seconds: float = Field(default=10.0, ge=0.0, le=3600.0)
    discord_voice_idle_seconds: float = Field(default=120.0, ge=1.0, le=86_400.0)
    # Replies to the bot's answers (and messages in threads started from them) ask follow-ups; this
    # needs the privileged Message Content intent switched on in the developer portal.
    discord_follow_ups: bool = True
    # How the spoken answer is posted after the text: voice_message (Discord's voice-message player,
    # a plain attachment where Discord refuses one), attachment (always a plain .ogg file), or
    # with_text (wait for the clip and post it with the text in one message, as before).
    discord_clip_mode: Annotated[str, AfterValidator(one_of("voice_message", "attachment", "with_text", case="lower"))] = "voice_message"

    @property
    def discord_allowed_guild_ids(self) -> frozenset[int]:
        """Guilds the bot answers in; empty means every guild it was invited to."""
        return frozenset(int(part) for part in self.discord_allowed_guilds.split(",") if part)

    @property
    def discord_allowed_channel_ids(self) -> frozenset[int]:
        """Channels the bot answers in; empty means every channel it can see."""
        return frozenset(int(part) for part in self.discord_allowed_channels.split(",") if part)
