"""When the store is saved, and why a video is marked indexed only after that save.

An indexed video's documents are not on disk until the store is saved; marking the video indexed
in the ledger first would make a killed process trust documents it never wrote. So indexed videos
wait here and are marked together right after each save, which comes every ``SAVE_EVERY_VIDEOS``
indexed videos or ``SAVE_EVERY_SECONDS``, and at the end of a pass (one policy for sync and ingest).

A save that fails (disk full, another writer holding the index too long, a damaged file to merge
into) raises and keeps every waiting video waiting: none is marked indexed, the file on disk is the
previous one, and the next successful save (or the next run) takes them. The engine also saves what
is done when a run is interrupted or aborted, through the same ``flush``.
"""

from __future__ import annotations

import threading
import time

from pipelines.freshness.resources import SyncResources

SAVE_EVERY_VIDEOS = 25
SAVE_EVERY_SECONDS = 60.0


class SavePolicy:
    """Indexed videos not saved yet, the lock every write to the store takes, and when to save.

    A caller holds ``lock`` around its write to the store and the matching ``indexed_locked`` or
    ``forget_locked``, so a save never falls between writing a video's documents and recording
    that the video waits for a save.
    """

    def __init__(self, resources: SyncResources, every_videos: int = SAVE_EVERY_VIDEOS, every_seconds: float = SAVE_EVERY_SECONDS) -> None:
        self.resources = resources
        self.every_videos = every_videos
        self.every_seconds = every_seconds
        self.lock = threading.Lock()
        self._pending: list[tuple[str, str, str, str]] = []  # video id, input hash, output hash, ledger detail
        self._last_save = time.monotonic()
        self.saved_videos = 0  # videos marked indexed after a save, over this policy's life
        self.failure: BaseException | None = None  # the last save's error, until a save succeeds

    @property
    def waiting(self) -> int:
        """Indexed videos whose documents are not saved yet."""
        return len(self._pending)

    def indexed_locked(self, video_id: str, input_hash: str, output_hash: str, detail: str) -> None:
        """Hold an indexed video until the next save, saving now if enough videos or time went by; needs ``lock``."""
        self._pending.append((video_id, input_hash, output_hash, detail))
        if len(self._pending) >= self.every_videos or time.monotonic() - self._last_save > self.every_seconds:
            self.flush_locked()

    def forget_locked(self, video_ids: set[str]) -> None:
        """Drop removed videos from those waiting, so no later save marks them indexed; needs ``lock``."""
        self._pending = [entry for entry in self._pending if entry[0] not in video_ids]

    def flush(self) -> None:
        """Save the store, then mark the videos it now holds as indexed."""
        with self.lock:
            self.flush_locked()

    def flush_locked(self, force: bool = False) -> None:
        """``flush`` for a caller holding ``lock``; ``force`` saves with no video waiting (after a removal)."""
        if not self._pending and not force:
            return
        bundle = self.resources.bundle_if_open
        if bundle is not None:
            try:
                bundle.save()
            except BaseException as error:  # nothing is marked: the videos stay waiting for a save that works
                self.failure = error
                raise
        self.failure = None
        for video_id, input_hash, output_hash, detail in self._pending:
            self.resources.ledger.finish(video_id, "indexed", input_hash, output_hash, detail)
        self.saved_videos += len(self._pending)
        self._pending.clear()
        self._last_save = time.monotonic()
