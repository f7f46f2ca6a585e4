"""Voice clips in their own bounded pool, so an answer's text never waits behind a clip.

Synthesis takes seconds (Piper) to tens of seconds (Tortoise) where an answer takes a fraction of
one. Clips therefore render in a separate pool of ``COURSE_TA_VOICE_WORKERS`` threads, at a lower
CPU priority than the answer pool, and front doors post the text first and the clip when it exists.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future

from bot.answering.answer_pool import WorkPool
from pipelines.settings import Settings
from voice.encoding import ClipFormat
from voice.render import Clip, VoiceRenderer

logger = logging.getLogger(__name__)

# Clip threads yield the cores to answer threads (nice values add: 0 for answers, this for clips).
VOICE_NICE = 5


class VoicePool:
    """Renders clips with ``renderer`` on at most ``workers`` threads; a clip's failure is ``Clip.error``, never raised."""

    def __init__(self, renderer: VoiceRenderer, workers: int, *, nice: int = VOICE_NICE) -> None:
        self.renderer = renderer
        self.pool = WorkPool(workers, "course-ta-voice", nice=nice)

    @classmethod
    def from_settings(cls, settings: Settings, renderer: VoiceRenderer) -> VoicePool:
        """A pool of ``COURSE_TA_VOICE_WORKERS`` threads around ``renderer``."""
        return cls(renderer, settings.voice_workers)

    def submit(self, text: str, formats: tuple[ClipFormat, ...] = ("ogg",), renderer: VoiceRenderer | None = None) -> Future[Clip]:
        """The clip for ``text`` as a Future that always ends in a :class:`Clip` (``ok`` or with ``error``).

        ``renderer`` speaks with another voice than the pool's (a course's own cloned voice).
        """
        return self.pool.submit(self._render, text, formats, renderer or self.renderer)

    def _render(self, text: str, formats: tuple[ClipFormat, ...], renderer: VoiceRenderer) -> Clip:
        logger.debug("rendering a clip for %d characters", len(text))
        try:
            return renderer.render(text, formats=formats)
        except Exception as error:  # the answer is already posted; a clip failure is a note, not a crash
            logger.exception("rendering a clip failed")
            return Clip(text=text, error=f"{type(error).__name__}: {error}")

    def queue_depth(self) -> int:
        """Clips waiting for a free voice worker."""
        return self.pool.queue_depth()

    def shutdown(self) -> None:
        """Stop: clips not started are cancelled."""
        self.pool.shutdown(wait=False)
