"""Where lecture videos come from: a YouTube channel/playlist/list of URLs, or local folders.

Every source yields the same :class:`VideoRef`, so the sync orchestrator and the ledger never need
to know which one a video came from.
"""

from pipelines.corpus.sources.video_ref import VideoRef

__all__ = ["VideoRef"]
