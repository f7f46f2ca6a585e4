"""Our answer clip as a :class:`discord.AudioSource`: 20 ms Opus frames, straight from the Ogg file.

The voice renderer already encodes clips as Ogg/Opus at 48 kHz with 20 ms frames, exactly what
Discord's voice transport sends, so the packets are demuxed (PyAV) and passed through untouched: no
decode, no re-encode, no ffmpeg process. A clip whose packets are not 20 ms (another encoder, an
MP3-only clip) is decoded once to 48 kHz stereo PCM instead and discord.py's encoder takes over.
Like discord.py's own sources this is three methods: ``read``, ``is_opus``, ``cleanup``.
"""

from __future__ import annotations

import io

import av
import discord
import numpy as np

from voice.encoding import AudioDecodeError, decode_samples
from voice.render import Clip

SAMPLE_RATE = 48_000
FRAME_SAMPLES = 960  # 20 ms at 48 kHz: what discord.py's player sends every tick
PCM_FRAME_BYTES = FRAME_SAMPLES * 2 * 2  # stereo, 16-bit


class ClipSourceError(ValueError):
    """The clip holds no audio a voice channel can play."""


class OpusClipSource(discord.AudioSource):
    """Pre-encoded Opus packets, one per 20 ms tick (passthrough)."""

    def __init__(self, packets: list[bytes]) -> None:
        self._packets = packets
        self._next = 0

    @property
    def frames(self) -> int:
        """How many 20 ms packets the clip holds."""
        return len(self._packets)

    def read(self) -> bytes:
        """The next packet; empty bytes once the clip is over, which stops the player."""
        if self._next >= len(self._packets):
            return b""
        packet = self._packets[self._next]
        self._next += 1
        return packet

    def is_opus(self) -> bool:
        """Yes: discord.py sends the packets as they are, without re-encoding."""
        return True

    def cleanup(self) -> None:
        """Drop the packets once the player is done with them."""
        self._packets = []


class PCMClipSource(discord.AudioSource):
    """Decoded 48 kHz stereo s16 PCM in 20 ms frames, for discord.py to encode."""

    def __init__(self, pcm: bytes) -> None:
        remainder = len(pcm) % PCM_FRAME_BYTES
        self._pcm = pcm + b"\x00" * ((PCM_FRAME_BYTES - remainder) % PCM_FRAME_BYTES)
        self._offset = 0

    @property
    def frames(self) -> int:
        """How many 20 ms frames the clip holds (the last one padded with silence)."""
        return len(self._pcm) // PCM_FRAME_BYTES

    def read(self) -> bytes:
        """The next 20 ms frame; empty bytes once the clip is over, which stops the player."""
        frame = self._pcm[self._offset : self._offset + PCM_FRAME_BYTES]
        self._offset += PCM_FRAME_BYTES
        return frame if len(frame) == PCM_FRAME_BYTES else b""

    def is_opus(self) -> bool:
        """No: discord.py encodes these frames to Opus itself."""
        return False

    def cleanup(self) -> None:
        """Drop the audio once the player is done with it."""
        self._pcm = b""


def clip_source(clip: Clip) -> discord.AudioSource:
    """The best playable source for a rendered clip: Opus passthrough when possible, else PCM."""
    if not clip.ok:
        raise ClipSourceError(f"there is no clip to play ({clip.error or 'empty clip'})")
    if clip.ogg:
        packets = opus_packets(clip.ogg)
        if packets is not None:
            return OpusClipSource(packets)
    data = clip.ogg or clip.mp3
    assert data is not None
    return PCMClipSource(decode_to_pcm(data))


def opus_packets(ogg: bytes) -> list[bytes] | None:
    """The Opus packets of an Ogg file if every one is a single 20 ms frame, else ``None``."""
    packets: list[bytes] = []
    try:
        with av.open(io.BytesIO(ogg), mode="r") as container:
            if not container.streams.audio or container.streams.audio[0].codec_context.name not in ("opus", "libopus"):
                return None
            stream = container.streams.audio[0]
            for packet in container.demux(stream):
                if packet.size == 0:
                    continue  # the demuxer's end-of-stream flush packet
                data = bytes(packet)
                if opus_packet_samples(data) != FRAME_SAMPLES:
                    return None
                packets.append(data)
    except (av.error.FFmpegError, ValueError):
        return None
    return packets or None


# Frame sizes in 48 kHz samples by TOC config (RFC 6716 §3.1): SILK, hybrid, CELT.
_CONFIG_SAMPLES = [480, 960, 1920, 2880] * 3 + [480, 960] * 2 + [120, 240, 480, 960] * 4


def opus_packet_samples(packet: bytes) -> int:
    """Samples (at 48 kHz) in one Opus packet, from its TOC byte and frame count (RFC 6716 §3.1)."""
    if not packet:
        return 0
    toc = packet[0]
    per_frame = _CONFIG_SAMPLES[toc >> 3]
    code = toc & 0x03
    if code == 0:
        frames = 1
    elif code in (1, 2):
        frames = 2
    else:
        frames = packet[1] & 0x3F if len(packet) > 1 else 0
    return per_frame * frames


def decode_to_pcm(data: bytes) -> bytes:
    """Any clip ffmpeg can read → 48 kHz stereo interleaved s16 bytes (what discord.py encodes)."""
    try:
        samples, _ = decode_samples(data, "s16", "stereo", SAMPLE_RATE)
    except AudioDecodeError as error:
        raise ClipSourceError(f"the clip is not readable audio: {error}") from None
    return samples.astype(np.int16).tobytes()
