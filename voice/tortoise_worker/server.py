"""The worker's HTTP API (aiohttp), the contract :mod:`voice.backends.tortoise` relies on.

``GET /health`` → ``{"ready", "reason", "device", "sample_rate", "voices", "presets", "default_preset"}``
``PUT /voices/{name}`` multipart ``clips`` (WAV files) → ``{"voice", "clips", "latents"}``
``POST /synthesize`` ``{"text", "voice", "preset"?}`` → ``audio/wav`` (16-bit mono) with
``X-Sample-Rate`` and ``X-Chunks`` headers.
Errors are ``{"error": message}``: 400 bad request, 404 unknown voice, 503 model not ready, 500 failure.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import wave

import numpy as np
from aiohttp import BodyPartReader, web

from voice.tortoise_worker.engine import NotReady, RequestError, TortoiseEngine, UnknownVoice

logger = logging.getLogger(__name__)
MAX_UPLOAD_BYTES = 100 * 1024 * 1024
ENGINE_KEY = web.AppKey("engine", TortoiseEngine)


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def wav_bytes(samples: np.ndarray, sample_rate: int) -> bytes:
    """16-bit mono WAV of float samples in [-1, 1] (clipped, not wrapped): the ``/synthesize`` body."""
    pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm.tobytes())
    return buffer.getvalue()


async def health(request: web.Request) -> web.Response:
    """``GET /health``: whether the model can speak (and why not), its device, the voices and presets."""
    return web.json_response(request.app[ENGINE_KEY].health())


async def put_voice(request: web.Request) -> web.Response:
    """``PUT /voices/{name}``: replace the voice's clips with the uploaded ``clips`` parts."""
    engine = request.app[ENGINE_KEY]
    if not request.content_type.startswith("multipart/"):
        return _error(400, "upload the clips as multipart/form-data field 'clips'")
    clips: list[tuple[str, bytes]] = []
    reader = await request.multipart()
    async for part in reader:
        if isinstance(part, BodyPartReader) and part.name == "clips":
            clips.append((part.filename or f"clip{len(clips)}", bytes(await part.read(decode=False))))
    try:
        result = await asyncio.get_running_loop().run_in_executor(None, engine.register_voice, request.match_info["name"], clips)
    except RequestError as error:
        return _error(400, str(error))
    except NotReady as error:
        return _error(503, str(error))
    return web.json_response(result)


async def synthesize(request: web.Request) -> web.Response:
    """``POST /synthesize``: the text spoken as a WAV; a failing synthesis is a 500 and the worker keeps serving."""
    engine = request.app[ENGINE_KEY]
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _error(400, 'body must be JSON: {"text", "voice", "preset"?}')
    if not isinstance(body, dict) or not isinstance(body.get("text"), str) or not isinstance(body.get("voice"), str):
        return _error(400, "body must be a JSON object with string fields 'text' and 'voice'")
    preset = body.get("preset")
    if preset is not None and not isinstance(preset, str):
        return _error(400, "'preset' must be a string")
    try:
        samples, rate, chunks = await asyncio.get_running_loop().run_in_executor(
            None, engine.synthesize, body["text"], body["voice"], preset
        )
    except RequestError as error:
        return _error(400, str(error))
    except UnknownVoice as error:
        return _error(404, str(error))
    except NotReady as error:
        return _error(503, str(error))
    except Exception as error:  # CUDA OOM, a tortoise assertion...: report, keep serving
        logger.exception("synthesis failed")
        return _error(500, f"synthesis failed: {type(error).__name__}: {error}")
    return web.Response(
        body=wav_bytes(samples, rate),
        content_type="audio/wav",
        headers={"X-Sample-Rate": str(rate), "X-Chunks": str(chunks)},
    )


def create_app(engine: TortoiseEngine) -> web.Application:
    """The worker's routes around ``engine`` (uploads up to ``MAX_UPLOAD_BYTES``)."""
    app = web.Application(client_max_size=MAX_UPLOAD_BYTES)
    app[ENGINE_KEY] = engine
    app.router.add_get("/health", health)
    app.router.add_put("/voices/{name}", put_voice)
    app.router.add_post("/synthesize", synthesize)
    return app
