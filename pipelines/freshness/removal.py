"""Taking videos out: from the index (saved at once), then from the ledger and the data dir.

The ledger goes last: a process killed half-way still lists the video, finds its files gone on the
next pass and removes it again, so a removal is never half-remembered.
"""

from __future__ import annotations

import logging

from pipelines.freshness.reports import SyncReport
from pipelines.freshness.resources import SyncResources
from pipelines.freshness.saving import SavePolicy

logger = logging.getLogger(__name__)


def remove_videos(resources: SyncResources, saves: SavePolicy, video_ids: list[str]) -> list[str]:
    """Take videos out of the index (saved at once), then out of the ledger and the data dir; returns their ids."""
    if not video_ids:
        return []
    with saves.lock:
        indexer = resources.indexer_if_built
        if indexer is not None:  # through the indexer, so its cache of stored ids stays true
            for video_id in video_ids:
                indexer.index_video(video_id, [])
        else:
            bundle = resources.bundle
            held = bundle.ids_by_video()
            stale = sorted(i for video_id in video_ids for i in held.get(video_id, ()))
            if stale:
                bundle.store.delete_documents(stale)
        saves.forget_locked(set(video_ids))
        saves.flush_locked(force=True)
    from pipelines.llm.summaries import summary_path

    for video_id in video_ids:  # ledger last: a crash before this point finds the video stale again
        resources.ledger.remove_video(video_id)
        for path in (resources.transcripts_dir / f"{video_id}.json", resources.cleaned_dir / f"{video_id}.json"):
            path.unlink(missing_ok=True)
        summary_path(resources.settings, video_id).unlink(missing_ok=True)
        logger.info("removed %s from the index", video_id)
    return list(video_ids)


def remove_stale(resources: SyncResources, saves: SavePolicy, source_id: str, location: str, listed: set[str], report: SyncReport) -> None:
    """Remove the source's videos missing from its new listing, into ``report.removed``.

    A listing with no videos at all removes nothing and says so in ``report.warnings`` instead.
    """
    gone = sorted({ref.video_id for ref in resources.ledger.videos(source_id)} - listed)
    if not gone:
        return
    if not listed:  # an empty (or unmounted) folder is more likely a mistake than a deletion of everything
        report.warnings.append(
            f"{location} holds no videos now; its {len(gone)} indexed video(s) are kept (`course-ta remove-source` drops them)"
        )
        return
    report.removed.extend(remove_videos(resources, saves, gone))


def remove_stale_listed(
    resources: SyncResources, saves: SavePolicy, source_id: str, location: str, listed: set[str], report: SyncReport
) -> None:
    """``remove_stale`` for a listing that may come back partial (a YouTube channel or playlist).

    A listing that succeeded and no longer holds a video means the video was deleted, made private
    or taken off the playlist, so it leaves the index. A listing that drops more than half of the
    known videos at once looks like a throttled or truncated answer rather than a course that lost
    half its lectures, so it removes nothing and says so (``course-ta remove`` takes videos out by hand).
    """
    known = {ref.video_id for ref in resources.ledger.videos(source_id)}
    gone = known - listed
    if gone and listed and len(gone) * 2 > len(known):
        report.warnings.append(
            f"{location} lists {len(known) - len(gone)} of its {len(known)} known videos; a listing this short is taken as "
            f"incomplete, so none is removed (`course-ta remove VIDEO` takes one out by hand)"
        )
        return
    remove_stale(resources, saves, source_id, location, listed, report)


def remove_source(resources: SyncResources, saves: SavePolicy, source_id: str) -> list[str]:
    """Stop syncing a source: its videos leave the index and the ledger, then the source row goes."""
    removed = remove_videos(resources, saves, [ref.video_id for ref in resources.ledger.videos(source_id)])
    resources.ledger.remove_source(source_id)
    return removed
