"""Discord's voice transport (voice gateway + encrypted UDP) replaced at its one seam.

``VoiceClient.create_connection_state()`` builds the object that owns the voice websocket and the
UDP socket. This loopback connects instantly and, instead of sending each RTP packet over UDP,
decrypts it with the session key (as Discord's voice server would) and keeps the Opus payload, so
tests hear exactly what discord.py's real ``AudioPlayer`` and ``VoiceClient`` sent.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import discord
import nacl.secret
from discord.player import OPUS_SILENCE


class _LoopbackVoiceSocket:
    latency = 0.0
    average_latency = 0.0

    async def speak(self, state: Any = None) -> None:
        return None


class LoopbackConnection:
    def __init__(self, voice_client: discord.VoiceClient) -> None:
        self.voice_client = voice_client
        self.secret_key = list(os.urandom(32))
        self.mode = "aead_xchacha20_poly1305_rtpsize"
        self.ssrc = 4242
        self.session_id = "loopback"
        self.token = "loopback"
        self.endpoint = "127.0.0.1"
        self.timeout = 5.0
        self.dave_session = None
        self.can_encrypt = False
        self.ws = _LoopbackVoiceSocket()
        self._connected = threading.Event()
        self.lock = threading.Lock()
        self.frames: list[bytes] = []  # decrypted Opus payloads, silence frames included
        self.connects = 0
        self.disconnects = 0

    async def connect(self, **kwargs: Any) -> None:
        self.connects += 1
        self._connected.set()

    async def disconnect(self, **kwargs: Any) -> None:
        self.disconnects += 1
        self._connected.clear()

    async def move_to(self, channel: Any, timeout: float | None = None) -> None:
        self.voice_client.channel = channel

    async def voice_state_update(self, data: Any) -> None:
        return None

    async def voice_server_update(self, data: Any) -> None:
        return None

    def is_connected(self) -> bool:
        return self._connected.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._connected.wait(timeout)

    def send_packet(self, packet: bytes) -> None:
        packet = bytes(packet)
        header, body, counter = packet[:12], packet[12:-4], packet[-4:]
        nonce = counter + bytes(20)
        opus = nacl.secret.Aead(bytes(self.secret_key)).decrypt(body, header, nonce)
        with self.lock:
            self.frames.append(opus)

    def speech_frames(self) -> list[bytes]:
        with self.lock:
            return [f for f in self.frames if f != OPUS_SILENCE]


class LoopbackVoiceClient(discord.VoiceClient):
    instances: list[LoopbackVoiceClient] = []

    def create_connection_state(self) -> Any:
        LoopbackVoiceClient.instances.append(self)
        return LoopbackConnection(self)

    @property
    def loopback(self) -> LoopbackConnection:
        return self._connection  # type: ignore[return-value]
