"""Playing answer clips in a guild's voice channel: join, queue, stop, leave when idle.

One :class:`GuildVoice` per guild owns the voice connection and a FIFO of clips. discord.py's
``AudioPlayer`` thread plays one source at a time and calls back when it ends; the callback hops
to the event loop to start the next clip or, when nothing is left, arms an idle timer that leaves
the channel after ``COURSE_TA_DISCORD_VOICE_IDLE_SECONDS``.

The voice transport is one seam: ``voice_client_class`` (default :class:`discord.VoiceClient`)
is what ``channel.connect(cls=...)`` builds. Everything else — the queue, the player thread, RTP
packets, encryption — is discord.py's real code whichever transport is underneath.
"""

from __future__ import annotations

import asyncio
import ctypes.util
import logging
from collections import deque
from dataclasses import dataclass

import discord

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 20.0


class VoiceUnavailable(Exception):
    """The clip cannot be played; the message is for the user (not in a channel, no permission)."""


def ensure_opus() -> bool:
    """Load libopus for sources that need encoding (passthrough clips do not). True when loaded."""
    if discord.opus.is_loaded():
        return True
    for name in (ctypes.util.find_library("opus"), "libopus.so.0", "libopus.0.dylib", "opus"):
        if not name:
            continue
        try:
            discord.opus.load_opus(name)
            return True
        except OSError:
            continue
    logger.warning("libopus not found: clips that are not Opus cannot be played in voice")
    return False


def caller_voice_channel(member: discord.abc.User) -> discord.VoiceChannel | discord.StageChannel:
    """The voice channel the caller sits in, with the bot allowed to join and speak there."""
    voice = getattr(member, "voice", None)
    channel = voice.channel if voice is not None else None
    if channel is None:
        raise VoiceUnavailable("Join a voice channel first, then try again (I play answers in the channel you are in).")
    me = channel.guild.me
    if me is not None:
        permissions = channel.permissions_for(me)
        missing = [name for name, ok in (("Connect", permissions.connect), ("Speak", permissions.speak)) if not ok]
        if missing:
            raise VoiceUnavailable(
                f"I don't have the {' and '.join(missing)} permission in {channel.mention}. "
                "Ask a server admin to allow it for my role in that channel."
            )
    return channel


@dataclass
class QueuedClip:
    """A clip waiting in a guild's queue, with the label replies use for it."""

    source: discord.AudioSource
    label: str


class GuildVoice:
    """The voice connection of one guild and the clips waiting to be played there."""

    def __init__(self, guild_id: int, voice_client_class: type[discord.VoiceClient], idle_seconds: float) -> None:
        self.guild_id = guild_id
        self.voice_client_class = voice_client_class
        self.idle_seconds = idle_seconds
        self.voice_client: discord.VoiceClient | None = None
        self.queue: deque[QueuedClip] = deque()
        self.now_playing: QueuedClip | None = None
        self.played: list[str] = []  # labels in the order they finished, for /stop replies and tests
        self.idle = asyncio.Event()
        self.idle.set()
        self.left = asyncio.Event()
        self._idle_timer: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    @property
    def connected(self) -> bool:
        """Whether the bot is in a voice channel of this guild right now."""
        return self.voice_client is not None and self.voice_client.is_connected()

    async def join(self, channel: discord.VoiceChannel | discord.StageChannel) -> discord.VoiceClient:
        """Connect to ``channel`` (or move there when idle elsewhere in the guild)."""
        async with self._lock:
            if self.connected:
                assert self.voice_client is not None
                if self.voice_client.channel.id != channel.id and self.now_playing is None:
                    await self.voice_client.move_to(channel)
            else:
                try:
                    self.voice_client = await channel.connect(cls=self.voice_client_class, self_deaf=True, timeout=CONNECT_TIMEOUT_S)
                except TimeoutError:
                    raise VoiceUnavailable(f"I could not connect to {channel.mention} in time; please try again.") from None
                except discord.ClientException as error:
                    raise VoiceUnavailable(f"I could not join {channel.mention}: {error}") from None
                self.left.clear()
            self._arm_idle_timer_if_idle()
            return self.voice_client

    async def enqueue(self, channel: discord.VoiceChannel | discord.StageChannel, source: discord.AudioSource, label: str) -> int:
        """Queue a clip; returns how many clips play before it (0 = it starts now)."""
        await self.join(channel)
        self._cancel_idle_timer()
        self.queue.append(QueuedClip(source, label))
        ahead = len(self.queue) - 1 + (1 if self.now_playing else 0)
        if self.now_playing is None:
            self._play_next()
        return ahead

    def _play_next(self) -> None:
        if not self.queue or not self.connected:
            self.now_playing = None
            self.idle.set()
            self._arm_idle_timer_if_idle()
            return
        item = self.queue.popleft()
        self.now_playing = item
        self.idle.clear()
        loop = asyncio.get_running_loop()
        assert self.voice_client is not None

        def after(error: Exception | None) -> None:  # runs in the player thread
            loop.call_soon_threadsafe(self._finished, item, error)

        try:
            self.voice_client.play(item.source, after=after)
        except (discord.ClientException, discord.opus.OpusNotLoaded, TypeError) as error:
            logger.warning("could not play %s: %s", item.label, error)
            self.now_playing = None
            self._play_next()

    def _finished(self, item: QueuedClip, error: Exception | None) -> None:
        if error is not None:
            logger.warning("playback of %s failed: %s", item.label, error)
        if self.now_playing is item:
            self.played.append(item.label)
            self.now_playing = None
            self._play_next()

    async def stop(self) -> int:
        """Stop the current clip and drop the queue; returns how many clips were dropped."""
        dropped = len(self.queue) + (1 if self.now_playing else 0)
        self.queue.clear()
        self.now_playing = None
        if self.voice_client is not None:
            self.voice_client.stop()
        self.idle.set()
        self._arm_idle_timer_if_idle()
        return dropped

    async def leave(self) -> bool:
        """Disconnect; returns False when not connected."""
        self._cancel_idle_timer()
        self.queue.clear()
        self.now_playing = None
        client, self.voice_client = self.voice_client, None
        self.idle.set()
        self.left.set()
        if client is None:
            return False
        await client.disconnect(force=False)
        return True

    def _arm_idle_timer_if_idle(self) -> None:
        if self.now_playing is None and not self.queue and self.voice_client is not None:
            self._cancel_idle_timer()
            self._idle_timer = asyncio.get_running_loop().create_task(self._leave_when_idle(), name=f"voice-idle-{self.guild_id}")

    def _cancel_idle_timer(self) -> None:
        if self._idle_timer is not None and self._idle_timer is not asyncio.current_task():
            self._idle_timer.cancel()
        self._idle_timer = None

    async def _leave_when_idle(self) -> None:
        await asyncio.sleep(self.idle_seconds)
        if self.now_playing is None and not self.queue:
            logger.info("leaving voice in guild %s after %.0f s idle", self.guild_id, self.idle_seconds)
            self._idle_timer = None
            await self.leave()


class VoicePlayback:
    """Every guild's :class:`GuildVoice`, created on first use."""

    def __init__(self, idle_seconds: float, voice_client_class: type[discord.VoiceClient] = discord.VoiceClient) -> None:
        self.idle_seconds = idle_seconds
        self.voice_client_class = voice_client_class
        self.guilds: dict[int, GuildVoice] = {}
        ensure_opus()

    def guild(self, guild_id: int) -> GuildVoice:
        """The guild's player, created on first use."""
        player = self.guilds.get(guild_id)
        if player is None:
            player = self.guilds[guild_id] = GuildVoice(guild_id, self.voice_client_class, self.idle_seconds)
        return player

    async def close(self) -> None:
        """Leave every voice channel (on shutdown)."""
        for player in list(self.guilds.values()):
            await player.leave()
