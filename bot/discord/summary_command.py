"""``/summary video:``: a video's summary and key moments, with title autocomplete."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.discord.embeds import ANSWER_COLOUR, DESCRIPTION_LIMIT, FIELD_VALUE_LIMIT, TITLE_LIMIT, clip_text, error_embed
from pipelines.domain import format_timestamp
from pipelines.search.video_catalog import UnknownVideo, VideoSummary

if TYPE_CHECKING:
    from bot.discord.app import CourseTABot

CHOICE_LIMIT = 100  # Discord: choice names and string values are at most 100 characters


def summary_embed(summary: VideoSummary) -> discord.Embed:
    video = summary.video
    url = video.url if video.url.startswith(("http://", "https://")) else None
    embed = discord.Embed(
        title=clip_text(video.title, TITLE_LIMIT), url=url, description=clip_text(summary.text, DESCRIPTION_LIMIT), colour=ANSWER_COLOUR
    )
    lines: list[str] = []
    for point in summary.points:
        line = f"[{format_timestamp(point.start_s)}]({point.url}) {clip_text(point.text, 160)}"
        if sum(len(x) + 1 for x in lines) + len(line) > FIELD_VALUE_LIMIT:
            break
        lines.append(line)
    if lines:
        embed.add_field(name="Key moments", value="\n".join(lines), inline=False)
    if summary.generated:
        how = "summary by the LLM" if summary.method.startswith("llm") else "summary: the lecture's most central sentences"
    else:
        how = "opening lines and key sentences from the transcript (no summary stored yet)"
    embed.set_footer(text=f"{how} · {summary.chunks} indexed passage(s)")
    return embed


async def summary_command(interaction: discord.Interaction, video: str) -> None:
    bot: CourseTABot = interaction.client  # type: ignore[assignment]
    catalog = bot.ta.catalog
    bot.ta.guards.charge(interaction.user.id)
    await interaction.response.defer(thinking=True)
    try:
        summary = await bot.ta.in_thread(lambda: catalog.summary(catalog.resolve(video)))
    except UnknownVideo as error:
        await interaction.followup.send(embed=error_embed(str(error)))
        return
    await interaction.followup.send(embed=summary_embed(summary))


async def video_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    bot: CourseTABot = interaction.client  # type: ignore[assignment]
    videos = await bot.ta.in_thread(bot.ta.catalog.search, current)
    return [app_commands.Choice(name=clip_text(v.title, CHOICE_LIMIT), value=v.video_id[:CHOICE_LIMIT]) for v in videos]


def setup(bot: CourseTABot) -> None:
    command = app_commands.Command(name="summary", description="Summary and key moments of one lecture video", callback=summary_command)
    command = app_commands.describe(video="Start typing a video title")(command)
    command.autocomplete("video")(video_autocomplete)
    bot.tree.add_command(command)
