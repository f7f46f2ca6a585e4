"""Local source: folders of media (mp4, mkv, webm, mp3, m4a, wav, ogg) and transcript files.

File discovery, manifests and titles are the foundation's (``pipelines.freshness.ingest``) so ``course-ta
ingest`` and ``course-ta sync`` agree on what a video is. The fingerprint is built from each
file's name, size and modification time: listing 400 videos costs a directory walk, not a read.
"""

from __future__ import annotations

from pathlib import Path

from pipelines.corpus.sources.video_ref import LOCAL, VideoRef, fingerprint_of
from pipelines.freshness.ingest import IngestReport, describe_video, discover, load_manifests


class LocalSource:
    def __init__(self, source_id: str, path: Path, manifest: Path | None = None) -> None:
        self.source_id = source_id
        self.path = path
        self.manifest = manifest
        self.warnings: list[str] = []

    def list_videos(self) -> list[VideoRef]:
        report = IngestReport()
        videos = discover([self.path], report)
        manifests = load_manifests(videos, self.manifest, report)
        refs: list[VideoRef] = []
        for files in videos.values():
            video = describe_video(files, manifests, self.manifest, report)
            stats = [(p.name, *_stat(p)) for p in [*files.transcripts, *files.media]]
            refs.append(
                VideoRef(
                    video_id=files.video_id,
                    title=video.title,
                    url=video.url,
                    source_id=self.source_id,
                    kind=LOCAL,
                    duration_s=video.duration_s,
                    series=video.source,
                    media_path=str(files.media[0]) if files.media else None,
                    transcript_paths=tuple(str(p) for p in files.transcripts),
                    fingerprint=fingerprint_of(stats),
                )
            )
        self.warnings = report.warnings + [f"{o.video_id}: {o.reason}" for o in report.outcomes if o.status == "failed"]
        if not self.path.exists():
            raise FileNotFoundError(f"local source {self.path} does not exist")
        return refs


def _stat(path: Path) -> tuple[int, int]:
    info = path.stat()
    return info.st_size, info.st_mtime_ns
