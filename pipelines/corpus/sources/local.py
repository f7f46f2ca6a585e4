"""Local source: folders of media (mp4, mkv, webm, mp3, m4a, wav, ogg) and transcript files.

What a video is on disk comes from ``pipelines.corpus.discovery``, so ``course-ta ingest`` and
``course-ta sync`` agree on it. The fingerprint is built from each file's name, size and
modification time: listing 400 videos costs a directory walk (and, per media file, a read of its
first 64 bytes to refuse files that are not media), never a read of a whole file.
"""

from __future__ import annotations

from pathlib import Path

from pipelines.corpus.discovery import Findings, describe_video, discover, load_manifests, warn_orphan_rows
from pipelines.corpus.sources.video_ref import LOCAL, VideoRef, fingerprint_of


def list_local(roots: dict[Path, str], manifest: Path | None = None) -> tuple[list[VideoRef], Findings]:
    """Every video under the given roots (root → the source id its videos belong to), in discovery order."""
    findings = Findings()
    videos = discover(list(roots), findings)
    manifests = load_manifests(videos, manifest, findings)
    warn_orphan_rows(videos, manifests, findings)
    refs: list[VideoRef] = []
    for files in videos.values():
        video = describe_video(files, manifests, manifest, findings)
        stats = [(p.name, *_stat(p)) for p in [*files.transcripts, *files.media]]
        refs.append(
            VideoRef(
                video_id=files.video_id,
                title=video.title,
                url=video.url,
                source_id=roots[files.root],
                kind=LOCAL,
                duration_s=video.duration_s,
                series=video.source,
                media_path=str(files.media[0]) if files.media else None,
                transcript_paths=tuple(str(p) for p in files.transcripts),
                fingerprint=fingerprint_of(stats),
            )
        )
    return refs, findings


class LocalSource:
    """One folder (or file) that a scheduled sync lists again on every poll."""

    def __init__(self, source_id: str, path: Path, manifest: Path | None = None) -> None:
        self.source_id = source_id
        self.path = path
        self.manifest = manifest
        self.warnings: list[str] = []

    def list_videos(self) -> list[VideoRef]:
        """The folder's videos now; raises when the folder itself is gone, so nothing is taken as deleted."""
        refs, findings = list_local({self.path: self.source_id}, self.manifest)
        self.warnings = findings.warnings + [f"{u.video_id}: {u.reason}" for u in findings.unusable]
        if not self.path.exists():
            raise FileNotFoundError(f"local source {self.path} does not exist")
        return refs


def _stat(path: Path) -> tuple[int, int]:
    info = path.stat()
    return info.st_size, info.st_mtime_ns
