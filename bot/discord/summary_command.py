"""``/summary video:``: a video's summary and key moments as an embed, with title autocomplete.

The videos and their summaries come from :class:`pipelines.search.video_catalog.VideoCatalog`; this
module only turns them into what Discord shows.
"""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from bot.discord.context import CourseTAClient
from bot.discord.embeds import ANSWER_COLOUR, DESCRIPTION_LIMIT, FIELD_VALUE_LIMIT, TITLE_LIMIT, clip_text, error_embed
from pipelines.domain import format_timestamp
from pipelines.search.video_catalog import CatalogSummary, UnknownVideo

CHOICE_LIMIT = 100  # Discord: choice names and string values are at most 100 characters


def summary_embed(summary: CatalogSummary) -> discord.Embed:
    """The summary, its key moments as timed links, and a footer saying how the summary was made."""
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


async def summary_command(interaction: discord.Interaction[CourseTAClient], video: str) -> None:
    """Defer, read the summary off the event loop, then post it (or why there is none)."""
    ta = interaction.client.ta
    catalog = await ta.in_thread(ta.catalog_for, interaction.user.id, interaction.guild_id, interaction.channel_id)
    ta.guards.charge(interaction.user.id)
    await interaction.response.defer(thinking=True)
    try:
        summary = await ta.in_thread(lambda: catalog.summary(catalog.resolve(video)))
    except UnknownVideo as error:
        await interaction.followup.send(embed=error_embed(str(error)))
        return
    await interaction.followup.send(embed=summary_embed(summary))


async def video_autocomplete(interaction: discord.Interaction[CourseTAClient], current: str) -> list[app_commands.Choice[str]]:
    """Titles matching what was typed so far; the value sent back is the video id."""
    ta = interaction.client.ta
    catalog = await ta.in_thread(ta.catalog_for, interaction.user.id, interaction.guild_id, interaction.channel_id)
    videos = await ta.in_thread(catalog.search, current)
    return [app_commands.Choice(name=clip_text(v.title, CHOICE_LIMIT), value=v.video_id[:CHOICE_LIMIT]) for v in videos]


def register(tree: app_commands.CommandTree[CourseTAClient]) -> None:
    """Add /summary, with autocomplete on its ``video`` option, to the tree."""
    command: app_commands.Command[Any, ..., None] = app_commands.Command(
        name="summary", description="Summary and key moments of one lecture video", callback=summary_command
    )
    command = app_commands.describe(video="Start typing a video title")(command)
    command.autocomplete("video")(video_autocomplete)
    tree.add_command(command)
