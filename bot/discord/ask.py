"""``/ask``, ``/sources``, the "Play in voice" button and follow-up replies.

``/ask`` acknowledges first (a deferral is one quick HTTP call) and only then does the slow work in
threads. When every answer worker is busy the deferred response says so ("Queued, 2 ahead"). The
text goes out as soon as the answer exists: the answer embed(s) with the sources as links to the
exact second. The clip, rendered meanwhile in the voice pool, follows as a second message: a Discord
voice message, or a plain ``.ogg`` attachment where Discord refuses one (``COURSE_TA_DISCORD_CLIP_MODE``).
With ``speak:True`` (or the button) the clip is also queued in the caller's voice channel. ``/ask``
works in servers, in DMs with the bot and, installed by a user, wherever that server allows external apps.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
import secrets
import sqlite3
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import discord
from discord import app_commands

from bot.answering.course_desk import DeskTicket
from bot.answering.feedback import logged_course
from bot.answering.service import QuestionError
from bot.discord.audio_source import ClipSourceError, clip_source
from bot.discord.context import CourseTA, CourseTAClient
from bot.discord.embeds import VoiceNote, answer_embeds, clip_text, error_embed, sources_embed
from bot.discord.error_reply import reply_error
from bot.discord.escalation import PLATFORM, with_ask_ta
from bot.discord.guards import GuardRejected
from bot.discord.voice_message import VoiceAttachment, channel_route, followup_route, is_refusal, send_voice_message
from bot.discord.voice_queue import VoiceUnavailable, caller_voice_channel
from pipelines.domain import Answer, Turn
from voice.encoding import AudioDecodeError
from voice.render import Clip

logger = logging.getLogger(__name__)

ANSWER_FAILED = (
    "Sorry, I couldn't search the lectures just now ({reason}). Please try again in a minute; if it keeps happening, tell the course staff."
)
CLIP_EXPIRED = "That clip isn't ready yet or is no longer in my memory (I keep the most recent ones). Ask again to hear it."
CLIP_FILENAME = "answer.ogg"


def queued_text(ahead: int) -> str:
    """What the deferred response says while the question waits for a free answer worker."""
    return f"\N{HOURGLASS WITH FLOWING SAND} Queued, {ahead} ahead — every answer worker is busy; yours starts as soon as one is free."


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


async def settle(pending: asyncio.Future[Answer], question: str) -> tuple[Answer | None, str | None]:
    """(answer, error message). Unexpected failures are logged and turned into a sentence."""
    try:
        return await pending, None
    except QuestionError as error:
        return None, str(error)
    except Exception as error:  # the store is down, a model failed: tell the student, log the detail
        logger.exception("answering %r failed", question[:80])
        return None, ANSWER_FAILED.format(reason=failure_reason(error))


async def finished_clip(pending: asyncio.Future[Clip]) -> Clip:
    """The clip, with a failure logged (a missing clip never stops the answer)."""
    clip = await pending
    if not clip.ok:
        logger.warning("no voice clip: %s", clip.error)
    return clip


def clip_file(clip: Clip) -> discord.File:
    """The clip as a plain Ogg/Opus attachment (the fallback, and the ``with_text`` mode)."""
    assert clip.ogg is not None
    return discord.File(io.BytesIO(clip.ogg), filename=CLIP_FILENAME, description=clip_text(f"Spoken answer: {clip.text}", 1024))


async def voice_attachment(clip: Clip) -> VoiceAttachment | None:
    """Duration and waveform measured on the clip (decoding takes a moment, so off the event loop); None when unreadable."""
    assert clip.ogg is not None
    try:
        return await asyncio.to_thread(VoiceAttachment.from_ogg, clip.ogg)
    except AudioDecodeError as error:
        logger.warning("clip not readable for a voice message (%s); sending it as a file", error)
        return None


async def post_clip(
    ta: CourseTA,
    http: discord.http.HTTPClient,
    route: discord.http.Route,
    send_file: Callable[[discord.File], Awaitable[object]],
    clip: Clip,
    **extra: Any,
) -> None:
    """Post the clip after the text: a voice message on ``route``, else (mode, refusal) a file through ``send_file``."""
    if ta.settings.discord_clip_mode == "voice_message":
        attachment = await voice_attachment(clip)
        if attachment is not None:
            try:
                await send_voice_message(http, route, attachment, **extra)
                return
            except discord.HTTPException as error:
                if not is_refusal(error):
                    raise
                logger.info("Discord refused the clip as a voice message (%s); sending it as a file", error)
    await send_file(clip_file(clip))


def failure_reason(error: BaseException) -> str:
    """What went wrong, in words a student can act on, without internal detail."""
    text = f"{type(error).__name__}: {error}".lower()
    if any(word in text for word in ("connection", "refused", "timeout", "unreachable", "elasticsearch")):
        return "the course index is unreachable"
    return "an internal error"


def answer_payloads(answer: Answer, clip: Clip | None) -> tuple[list[discord.Embed], list[discord.File], str | None]:
    """Embeds, the clip file (none when there is no clip) and the clip key for the play button (``with_text`` mode)."""
    note = (
        VoiceNote(clip.backend, clip.voice)
        if clip is not None and clip.ok
        else VoiceNote(None, None, clip.error if clip else "voice not requested")
    )
    embeds = answer_embeds(answer, note)
    if clip is None or not clip.ok or not clip.ogg:
        return embeds, [], None
    return embeds, [clip_file(clip)], secrets.token_hex(8)


def text_first_payloads(answer: Answer, voice_enabled: bool) -> tuple[list[discord.Embed], str | None]:
    """Embeds saying the clip follows, and the key the clip will be kept under (None when voice is off)."""
    if not voice_enabled:
        return answer_embeds(answer, VoiceNote(None, None, "voice is disabled")), None
    return answer_embeds(answer, VoiceNote.coming()), secrets.token_hex(8)


def play_view(key: str | None) -> discord.ui.View:
    """The "Play in voice" button for the clip ``key``; an empty view when there is no clip."""
    view = discord.ui.View(timeout=None)
    if key is not None:
        view.add_item(PlayButton(key))
    return view


async def ask_command(
    interaction: discord.Interaction[CourseTAClient], question: str, speak: bool = False, course: str | None = None
) -> None:
    """Defer at once; say so while queued; post the text as soon as it exists, then the clip as a second message.

    With several courses the question goes to the ``course`` option's course, else the channel's or
    server's, else the student's last one; a course with private answers gets an ephemeral reply.
    """
    ta = interaction.client.ta
    try:
        cleaned = ta.service.validate(question)
    except QuestionError as error:
        await interaction.response.send_message(embed=error_embed(str(error)), ephemeral=True)
        return
    ticket = await asyncio.to_thread(
        ta.desk.discord,
        str(interaction.user.id),
        str(interaction.guild_id) if interaction.guild_id else None,
        str(interaction.channel_id) if interaction.channel_id else None,
        cleaned,
        course,
    )
    if ticket.service is None:
        await interaction.response.send_message(embed=error_embed(ticket.refusal), ephemeral=True)
        return
    cleaned = ticket.question or cleaned
    private = ticket.private
    ta.guards.charge(interaction.user.id)
    voice_channel, voice_problem = None, None
    if speak:
        try:
            voice_channel = caller_voice_channel(interaction.user)
        except VoiceUnavailable as error:
            voice_problem = str(error)
    await interaction.response.defer(thinking=True, ephemeral=private)

    channel_ids = [interaction.channel_id, *thread_ids(interaction.channel)]
    history = ta.conversations.history(*channel_ids) or []
    pending, ahead = await ta.ask(cleaned, history, ticket)
    queued = ahead is not None
    if ahead is not None:
        try:  # replaces "thinking…"; the answer later replaces this notice
            await interaction.edit_original_response(content=queued_text(ahead))
        except discord.HTTPException as error:
            logger.warning("could not show the queue position: %s", error)
            queued = False
    answer, problem = await settle(pending, cleaned)
    if answer is None:
        if queued:
            await interaction.edit_original_response(content=None, embed=error_embed(problem or "No answer."))
        else:
            await interaction.followup.send(embed=error_embed(problem or "No answer."))
        return

    voice_on = ta.settings.voice_enabled
    clip_pending = ta.speak(answer.text, ticket) if voice_on else None  # renders while the text is posted
    if ta.settings.discord_clip_mode == "with_text" and clip_pending is not None:
        clip: Clip | None = await finished_clip(clip_pending)
        embeds, files, key = answer_payloads(answer, clip)
    else:
        clip = None
        embeds, key = text_first_payloads(answer, voice_on)
        files = []
    view = with_ask_ta(play_view(key), ta.settings, ticket.course)
    first: discord.Message
    if queued:
        first = await interaction.edit_original_response(content=None, embed=embeds[0], view=view, attachments=files)
    else:
        first = await interaction.followup.send(embed=embeds[0], view=view, files=files, wait=True, ephemeral=private)
    sent: list[discord.Message] = [first]
    for embed in embeds[1:]:
        sent.append(await interaction.followup.send(embed=embed, wait=True, ephemeral=private))
    ta.conversations.record([m.id for m in sent], history, answer, also=thread_ids(interaction.channel))
    ta.conversations.remember_last(interaction.channel_id or 0, interaction.user.id, answer)
    # After the conversation is remembered: logging yields to the loop, and a press of "Ask a TA" must find it.
    course = logged_course(ta.desk, ticket.course)
    await log_answer(ta, interaction.channel_id, interaction.id, interaction.user.id, answer, first.id, interaction.created_at, course)

    if clip is None and clip_pending is not None:
        clip = await finished_clip(clip_pending)
        if key is not None and clip.ok:
            ta.conversations.keep_clip(key, clip)  # before posting: the button works as soon as the clip is heard
        if clip.ok and private:  # a voice message cannot be ephemeral: the clip goes as a file only the student sees
            await interaction.followup.send(file=clip_file(clip), wait=True, ephemeral=True)
        elif clip.ok:
            await post_clip(
                ta,
                interaction.client.http,
                followup_route(interaction.application_id, interaction.token),
                lambda file: interaction.followup.send(file=file, wait=True),
                clip,
            )
    if key is not None and clip is not None and clip.ok:
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
    guild = message.guild.id if message.guild else None
    # A follow-up stays with the course it continues: the channel's or server's, else the student's last (the /ask it replies to).
    ticket = await asyncio.to_thread(
        ta.desk.discord, str(message.author.id), str(guild) if guild else None, str(message.channel.id), question
    )
    if ticket.service is None:
        await message.reply(embed=error_embed(ticket.refusal), mention_author=False)
        return
    async with message.channel.typing():
        pending, _ = await ta.ask(ticket.question or question, history, ticket)
        answer, problem = await settle(pending, question)
    if answer is None:
        await message.reply(embed=error_embed(problem or "No answer."), mention_author=False)
        return
    await reply_with_answer(ta, message, answer, ticket, history=history, also=thread_ids(message.channel))


async def reply_with_answer(
    ta: CourseTA, message: discord.Message, answer: Answer, ticket: DeskTicket, *, history: list[Turn], also: list[int]
) -> None:
    """Answer ``message`` with a reply that pings no one: the text first (the clip follows unless the clip mode puts it
    with the text), the "Ask a TA" button where the course has a TA channel; the conversation is remembered (``also``:
    more message ids that continue it) and the answer logged. Follow-ups and question channels both answer this way."""
    voice_on = ta.settings.voice_enabled
    clip_pending = ta.speak(answer.text, ticket) if voice_on else None  # renders while the text is posted
    clip: Clip | None = None
    if ta.settings.discord_clip_mode == "with_text" and clip_pending is not None:
        clip = await finished_clip(clip_pending)
        embeds, files, key = answer_payloads(answer, clip)
    else:
        embeds, key = text_first_payloads(answer, voice_on)
        files = []
    channel = message.channel
    view = with_ask_ta(play_view(key), ta.settings, ticket.course)
    sent = [await message.reply(embed=embeds[0], view=view, mention_author=False, files=files)]
    for embed in embeds[1:]:
        sent.append(await channel.send(embed=embed))
    ta.conversations.record([m.id for m in sent], history, answer, also=also)
    ta.conversations.remember_last(channel.id, message.author.id, answer)
    course = logged_course(ta.desk, ticket.course)
    await log_answer(ta, channel.id, message.id, message.author.id, answer, sent[0].id, message.created_at, course)
    if clip is None and clip_pending is not None:
        clip = await finished_clip(clip_pending)
        if key is not None and clip.ok:
            ta.conversations.keep_clip(key, clip)
        if clip.ok:
            await post_clip(ta, ta_http(message), channel_route(channel.id), lambda file: channel.send(file=file), clip)
    elif key is not None and clip is not None and clip.ok:
        ta.conversations.keep_clip(key, clip)


async def log_answer(
    ta: CourseTA, channel_id: int | None, thread: int, user_id: int, answer: Answer, message_id: int, asked: datetime, course: str
) -> None:
    """Record a posted answer in the answer log like Slack does: the channel, the interaction or message that asked
    (as the thread), the student, the first answer message and when it was asked. A log that cannot be written
    costs the console a row, never the student the rest of the reply (the clip still follows)."""
    try:
        await asyncio.to_thread(
            ta.log.record_answer,
            PLATFORM,
            str(channel_id or ""),
            str(thread),
            str(user_id),
            answer,
            str(message_id),
            asked.timestamp(),
            course,
        )
    except (sqlite3.Error, OSError):
        logger.exception("could not record the answer to %s in the answer log", thread)


def ta_http(message: discord.Message) -> discord.http.HTTPClient:
    """The bot's HTTP client, as the message's state holds it."""
    return message._state.http


async def course_autocomplete(interaction: discord.Interaction[CourseTAClient], current: str) -> list[app_commands.Choice[str]]:
    """The courses whose id or title starts with what the student typed (at most 25, Discord's limit)."""
    courses = interaction.client.ta.desk.router.choices(current)
    return [app_commands.Choice(name=f"{course.title} ({course.id})"[:100], value=course.id) for course in courses[:25]]


def register(tree: app_commands.CommandTree[CourseTAClient]) -> None:
    """Add /ask and /sources to the tree, and route "Play in voice" presses to :class:`PlayButton`."""
    ask: app_commands.Command[Any, ..., None] = app_commands.Command(
        name="ask",
        description="Ask a question about the lectures; the answer links to the exact second",
        callback=ask_command,
    )
    ask = app_commands.describe(
        question="What do you want to know?",
        speak="Also play the answer in your voice channel",
        course="Which course (only needed where the channel doesn't say)",
    )(ask)
    ask.autocomplete("course")(course_autocomplete)
    sources: app_commands.Command[Any, ..., None] = app_commands.Command(
        name="sources", description="Show the sources of your last answer here", callback=sources_command
    )
    for command in (ask, sources):
        # Installable by a server or by a student for themselves; usable in servers (including those that
        # allow external apps), in DMs with the bot and in group DMs.
        command = app_commands.allowed_installs(guilds=True, users=True)(command)
        command = app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)(command)
        tree.add_command(command)
    tree.client.add_dynamic_items(PlayButton)
