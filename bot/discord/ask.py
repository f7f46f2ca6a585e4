"""``/ask``, ``/sources``, the "Play in voice" button and follow-up replies.

``/ask`` acknowledges first (a deferral is one quick HTTP call) and only then does the slow work in
threads: answer, then clip. The followup carries the answer embed(s), the sources as links to the
exact second, and the clip as an Ogg/Opus attachment. With ``speak:True`` (or the button) the clip
is also queued in the caller's voice channel.
"""

from __future__ import annotations

import io
import logging
import re
import secrets
from typing import Any

import discord
from discord import app_commands

from bot.answering.service import QuestionError
from bot.discord.audio_source import ClipSourceError, clip_source
from bot.discord.context import CourseTA, CourseTAClient
from bot.discord.embeds import VoiceNote, answer_embeds, clip_text, error_embed, sources_embed
from bot.discord.error_reply import reply_error
from bot.discord.guards import GuardRejected
from bot.discord.voice_queue import VoiceUnavailable, caller_voice_channel
from pipelines.domain import Answer, Turn
from voice.render import Clip

logger = logging.getLogger(__name__)

ANSWER_FAILED = (
    "Sorry, I couldn't search the lectures just now ({reason}). Please try again in a minute; if it keeps happening, tell the course staff."
)
CLIP_EXPIRED = "That clip is no longer in my memory (I keep the most recent ones). Ask again to hear it."


class PlayButton(discord.ui.DynamicItem[discord.ui.Button], template=r"course-ta:play:(?P<key>[0-9a-f]{16})"):
    """ "▶ Play in voice" under an answer; the custom id names the clip, so it survives view timeouts."""

    def __init__(self, key: str) -> None:
        super().__init__(
            discord.ui.Button(
                label="Play in voice",
                emoji="\N{SPEAKER WITH THREE SOUND WAVES}",
                style=discord.ButtonStyle.secondary,
                custom_id=f"course-ta:play:{key}",
            )
        )
        self.key = key

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]) -> PlayButton:
        """The button of a message sent earlier, rebuilt from its custom id (even after a restart)."""
        return cls(match["key"])

    async def callback(self, interaction: discord.Interaction) -> None:
        """Queue the remembered clip in the presser's voice channel, or say why not."""
        assert isinstance(interaction.client, CourseTAClient)  # registered only by a CourseTAClient's tree
        ta = interaction.client.ta
        clip = ta.conversations.clip(self.key)
        if clip is None:
            await reply_error(interaction, CLIP_EXPIRED)
            return
        try:
            channel = caller_voice_channel(interaction.user)
        except VoiceUnavailable as error:
            await reply_error(interaction, str(error))
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        await interaction.followup.send(await queue_clip(ta, channel, clip, clip.text[:60]), ephemeral=True)


async def queue_clip(ta: CourseTA, channel: discord.VoiceChannel | discord.StageChannel, clip: Clip, label: str) -> str:
    """Queue the clip in ``channel``; returns what to tell the user."""
    try:
        source = clip_source(clip)
        ahead = await ta.playback.guild(channel.guild.id).enqueue(channel, source, label)
    except (VoiceUnavailable, ClipSourceError) as error:
        return str(error)
    return f"Playing the answer in {channel.mention}." if ahead == 0 else f"Queued in {channel.mention} after {ahead} other clip(s)."


def thread_ids(channel: object) -> list[int]:
    """Ids under which a conversation continues: the channel itself when it is a thread."""
    return [channel.id] if isinstance(channel, discord.Thread) else []


async def answer_and_clip(ta: CourseTA, question: str, history: list[Turn]) -> tuple[Answer | None, Clip | None, str | None]:
    """(answer, clip, error message). Unexpected failures are logged and turned into a sentence."""
    try:
        answer = await ta.answer(question, history)
    except QuestionError as error:
        return None, None, str(error)
    except Exception as error:  # the store is down, a model failed: tell the student, log the detail
        logger.exception("answering %r failed", question[:80])
        return None, None, ANSWER_FAILED.format(reason=failure_reason(error))
    clip = await ta.speak(answer.text)
    if not clip.ok:
        logger.warning("no voice clip: %s", clip.error)
    return answer, clip, None


def failure_reason(error: BaseException) -> str:
    """What went wrong, in words a student can act on, without internal detail."""
    text = f"{type(error).__name__}: {error}".lower()
    if any(word in text for word in ("connection", "refused", "timeout", "unreachable", "elasticsearch")):
        return "the course index is unreachable"
    return "an internal error"


def answer_payloads(answer: Answer, clip: Clip | None) -> tuple[list[discord.Embed], list[discord.File], str | None]:
    """Embeds, the clip file (none when there is no clip) and the clip key for the play button."""
    note = (
        VoiceNote(clip.backend, clip.voice)
        if clip is not None and clip.ok
        else VoiceNote(None, None, clip.error if clip else "voice not requested")
    )
    embeds = answer_embeds(answer, note)
    if clip is None or not clip.ok or not clip.ogg:
        return embeds, [], None
    return (
        embeds,
        [discord.File(io.BytesIO(clip.ogg), filename="answer.ogg", description=clip_text(f"Spoken answer: {clip.text}", 1024))],
        secrets.token_hex(8),
    )


def play_view(key: str | None) -> discord.ui.View:
    """The "Play in voice" button for the clip ``key``; an empty view when there is no clip."""
    view = discord.ui.View(timeout=None)
    if key is not None:
        view.add_item(PlayButton(key))
    return view


async def ask_command(interaction: discord.Interaction[CourseTAClient], question: str, speak: bool = False) -> None:
    """Defer at once, then answer and speak in threads; the followup carries embeds, sources and the clip."""
    ta = interaction.client.ta
    try:
        cleaned = ta.service.validate(question)
    except QuestionError as error:
        await interaction.response.send_message(embed=error_embed(str(error)), ephemeral=True)
        return
    ta.guards.charge(interaction.user.id)
    voice_channel, voice_problem = None, None
    if speak:
        try:
            voice_channel = caller_voice_channel(interaction.user)
        except VoiceUnavailable as error:
            voice_problem = str(error)
    await interaction.response.defer(thinking=True)

    channel_ids = [interaction.channel_id, *thread_ids(interaction.channel)]
    history = ta.conversations.history(*channel_ids) or []
    answer, clip, problem = await answer_and_clip(ta, cleaned, history)
    if answer is None:
        await interaction.followup.send(embed=error_embed(problem or "No answer."))
        return
    embeds, files, key = answer_payloads(answer, clip)
    sent: list[discord.WebhookMessage] = [await interaction.followup.send(embed=embeds[0], view=play_view(key), files=files, wait=True)]
    for embed in embeds[1:]:
        sent.append(await interaction.followup.send(embed=embed, wait=True))
    ta.conversations.record([m.id for m in sent], history, answer, also=thread_ids(interaction.channel))
    ta.conversations.remember_last(interaction.channel_id or 0, interaction.user.id, answer)
    if key is not None and clip is not None:
        ta.conversations.keep_clip(key, clip)
    if speak:
        if voice_problem or voice_channel is None or clip is None:
            await interaction.followup.send(voice_problem or "There is no clip to play.", ephemeral=True)
        elif not clip.ok:
            await interaction.followup.send(f"I couldn't make a voice clip: {clip.error}", ephemeral=True)
        else:
            await interaction.followup.send(await queue_clip(ta, voice_channel, clip, cleaned[:60]), ephemeral=True)


async def sources_command(interaction: discord.Interaction[CourseTAClient]) -> None:
    """The sources of the caller's last answer in this channel, ephemerally."""
    answer = interaction.client.ta.conversations.last_answer(interaction.channel_id or 0, interaction.user.id)
    if answer is None:
        await interaction.response.send_message(
            embed=error_embed("You haven't asked anything in this channel yet. Use /ask first."), ephemeral=True
        )
        return
    await interaction.response.send_message(embed=sources_embed(answer), ephemeral=True)


async def on_follow_up(ta: CourseTA, message: discord.Message) -> None:
    """A reply to one of our answers (or a message in a thread started from one) asks a follow-up.

    Anything else (a bot's message, a place we don't serve, a message that continues none of our
    answers) is ignored silently, with a debug line saying why."""
    if not ta.settings.discord_follow_ups:
        return
    if not ta.guards.message_allowed(message):
        logger.debug("message %s ignored: from a bot or webhook, or in a place not served", message.id)
        return
    reference = message.reference.message_id if message.reference else None
    history = ta.conversations.history(reference, message.channel.id)
    if history is None:
        logger.debug("message %s ignored: it continues none of our answers", message.id)
        return
    question = re.sub(r"<@!?\d+>", " ", message.content or "").strip()
    if not question:
        return
    try:
        ta.guards.charge(message.author.id)
    except GuardRejected as error:
        await message.reply(str(error), mention_author=False, delete_after=15)
        return
    async with message.channel.typing():
        answer, clip, problem = await answer_and_clip(ta, question, history)
    if answer is None:
        await message.reply(embed=error_embed(problem or "No answer."), mention_author=False)
        return
    embeds, files, key = answer_payloads(answer, clip)
    sent = [await message.reply(embed=embeds[0], view=play_view(key), mention_author=False, files=files)]
    for embed in embeds[1:]:
        sent.append(await message.channel.send(embed=embed))
    ta.conversations.record([m.id for m in sent], history, answer, also=thread_ids(message.channel))
    ta.conversations.remember_last(message.channel.id, message.author.id, answer)
    if key is not None and clip is not None:
        ta.conversations.keep_clip(key, clip)


def register(tree: app_commands.CommandTree[CourseTAClient]) -> None:
    """Add /ask and /sources to the tree, and route "Play in voice" presses to :class:`PlayButton`."""
    ask: app_commands.Command[Any, ..., None] = app_commands.Command(
        name="ask",
        description="Ask a question about the lectures; the answer links to the exact second",
        callback=ask_command,
    )
    tree.add_command(app_commands.describe(question="What do you want to know?", speak="Also play the answer in your voice channel")(ask))
    tree.add_command(
        app_commands.Command(name="sources", description="Show the sources of your last answer here", callback=sources_command)
    )
    tree.client.add_dynamic_items(PlayButton)
