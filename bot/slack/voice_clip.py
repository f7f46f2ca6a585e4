"""The answer's voice clip, rendered after the text is posted and uploaded into the same thread.

Text never waits for audio: this runs last, under its own concurrency limit (synthesis is CPU-bound
and must not starve the next student's text answer). Every failure comes back as a short reason for
the message's context line, never as an exception.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from voice.encoding import ClipFormat
from voice.render import VoiceRenderer

logger = logging.getLogger(__name__)

CLIP_FORMAT: ClipFormat = "mp3"  # Slack plays MP3 inline in every client; Ogg/Opus only downloads


@dataclass(frozen=True)
class ClipOutcome:
    """Whether the clip reached the thread; otherwise the note that says why."""

    uploaded: bool
    note: str | None = None  # the context line when there is no clip
    file_id: str | None = None


def upload_voice_clip(
    client: WebClient,
    renderer: VoiceRenderer,
    text: str,
    channel: str,
    thread_ts: str,
    gate: threading.Semaphore | None = None,
) -> ClipOutcome:
    """Render ``text`` and upload it to the thread (files upload v2); the reason when it cannot."""
    if gate is not None:
        with gate:
            clip = renderer.render(text, formats=(CLIP_FORMAT,))
    else:
        clip = renderer.render(text, formats=(CLIP_FORMAT,))
    if not clip.ok:
        reason = " ".join((clip.error or "no audio was produced").split())[:200]
        logger.info("no voice clip: %s", reason)
        return ClipOutcome(False, f":mute: No voice clip for this answer: {reason}")
    voice = f" ({clip.voice})" if clip.voice else ""
    try:
        response = client.files_upload_v2(
            channel=channel,
            thread_ts=thread_ts,
            content=clip.files[CLIP_FORMAT],
            filename=clip.filename(CLIP_FORMAT),
            title=f"Spoken answer{voice}, {clip.duration_s:.0f} s",
        )
    except SlackApiError as error:
        code = error.response.get("error", "unknown_error")
        logger.warning("voice clip upload failed in %s: %s", channel, code)
        return ClipOutcome(False, f":mute: The voice clip could not be uploaded ({code}).")
    except (SlackClientError, OSError) as error:  # the upload URL is a separate host; it can fail on its own
        logger.warning("voice clip upload failed in %s: %s", channel, type(error).__name__)
        return ClipOutcome(False, f":mute: The voice clip could not be uploaded ({type(error).__name__}).")
    files = response.get("files") or [{}]
    return ClipOutcome(True, None, files[0].get("id"))
