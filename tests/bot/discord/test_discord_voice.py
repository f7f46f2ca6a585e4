"""Voice: our clip as 20 ms Opus frames, and playback through discord.py's real player and voice
client, with only the voice transport (gateway + UDP) replaced by a decrypting loopback."""

from __future__ import annotations

import asyncio
import dataclasses

import discord
import pytest

from bot.discord.audio_source import FRAME_SAMPLES, OpusClipSource, PCMClipSource, clip_source, opus_packet_samples
from bot.discord.voice_queue import ensure_opus
from tests.bot.discord.discord_loopback_voice import LoopbackVoiceClient
from tests.bot.discord.discord_payloads import (
    GUILD_ID,
    LURKER_ID,
    MUTED_ROOM_STUDENT_ID,
    VOICE_CHANNEL_ID,
    button_interaction,
    command_interaction,
    option,
)
from tests.bot.discord.discord_scenario import Scenario

SPOKEN = "Reciprocal rank fusion adds one over sixty plus the rank from each list, so both retrievers count."


def decoded_seconds(frames: list[bytes]) -> float:
    decoder = discord.opus.Decoder()
    samples = sum(len(decoder.decode(frame, fec=False)) // (2 * decoder.CHANNELS) for frame in frames)
    return samples / decoder.SAMPLING_RATE


@pytest.fixture(scope="module")
def clip(indexed):
    rendered = indexed[1].render(SPOKEN, formats=("ogg", "mp3"))
    assert rendered.ok, rendered.error
    return rendered


def test_clip_is_twenty_millisecond_opus_frames_for_its_whole_length(clip) -> None:
    assert ensure_opus()
    source = clip_source(clip)
    assert isinstance(source, OpusClipSource) and source.is_opus()
    frames = list(iter(source.read, b""))
    assert frames and all(opus_packet_samples(f) == FRAME_SAMPLES for f in frames)
    assert decoded_seconds(frames) == pytest.approx(clip.duration_s, abs=0.05)
    assert source.read() == b""  # exhausted: the player stops


def test_a_clip_without_opus_is_decoded_to_pcm_frames_for_discord_to_encode(clip) -> None:
    source = clip_source(dataclasses.replace(clip, files={"mp3": clip.mp3}))
    assert isinstance(source, PCMClipSource) and not source.is_opus()
    frames = list(iter(source.read, b""))
    assert all(len(f) == 3840 for f in frames)
    assert len(frames) * 0.02 == pytest.approx(clip.duration_s, abs=0.1)


def test_speak_plays_in_the_callers_channel_queues_the_button_and_leaves_when_idle(run_bot, short_renderer) -> None:
    async def body(s: Scenario) -> None:
        ask = command_interaction("ask", [option("question", "What is reciprocal rank fusion?"), option("speak", True)])
        s.interact(ask)
        calls = await s.until(ask, 4)
        answer, clip_message, status = calls[1], calls[2], calls[3]
        assert clip_message.is_voice_message and answer.seq < clip_message.seq < status.seq
        assert status.payload["flags"] & 64 and "Playing the answer in" in status.payload["content"]
        custom_id = answer.payload["components"][0]["components"][0]["custom_id"]

        player = s.bot.ta.playback.guild(GUILD_ID)
        (voice_client,) = LoopbackVoiceClient.instances
        assert voice_client.channel.id == VOICE_CHANNEL_ID and player.now_playing is not None

        press = button_interaction(custom_id, 1, answer.payload["components"])
        s.interact(press)
        pressed = await s.until(press, 2)
        assert pressed[0].payload["type"] == 5  # deferred, ephemeral
        assert "Queued" in pressed[1].payload["content"] and "after 1 other clip" in pressed[1].payload["content"]

        await asyncio.wait_for(player.idle.wait(), 30)
        await asyncio.wait_for(player.left.wait(), 10)  # idle leave (1 s in this test)
        assert len(player.played) == 2 and voice_client.loopback.disconnects == 1 and not voice_client.is_connected()

        clip = s.bot.ta.conversations.clip(custom_id.rsplit(":", 1)[1])
        assert clip is not None
        expected = list(iter(clip_source(clip).read, b""))
        heard = voice_client.loopback.speech_frames()
        assert heard == expected + expected  # passthrough: the very packets of the Ogg file, twice, in order
        assert decoded_seconds(heard) == pytest.approx(2 * clip.duration_s, abs=0.1)

    run_bot(body, renderer_override=short_renderer, discord_voice_idle_seconds=1)


@pytest.mark.parametrize(("user_id", "expected"), [(LURKER_ID, "Join a voice channel first"), (MUTED_ROOM_STUDENT_ID, "Speak permission")])
def test_join_explains_why_it_cannot(run_bot, user_id: int, expected: str) -> None:
    async def body(s: Scenario) -> None:
        join = command_interaction("join", user_id=user_id)
        s.interact(join)
        (reply,) = await s.until(join, 1)
        assert reply.payload["type"] == 4 and reply.payload["data"]["flags"] & 64
        assert expected in reply.payload["data"]["embeds"][0]["description"]
        assert not LoopbackVoiceClient.instances

    run_bot(body)


def test_join_stop_and_leave(run_bot) -> None:
    async def body(s: Scenario) -> None:
        join = command_interaction("join")
        s.interact(join)
        joined = await s.until(join, 2)
        assert f"Joined <#{VOICE_CHANNEL_ID}>" in joined[1].payload["content"]
        stop = command_interaction("stop")
        s.interact(stop)
        (stopped,) = await s.until(stop, 1)
        assert "Nothing is playing" in stopped.payload["data"]["content"]
        leave = command_interaction("leave")
        s.interact(leave)
        (left,) = await s.until(leave, 1)
        assert "Left the voice channel" in left.payload["data"]["content"]
        assert LoopbackVoiceClient.instances[0].loopback.disconnects == 1

    run_bot(body)
