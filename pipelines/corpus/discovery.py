"""What a video is on disk: transcript and media files grouped by video id, titled from a manifest.

A file's name up to its first dot is its video id (``abc.srt`` and ``abc.sentence_timings.json``
both belong to ``abc``); a ``manifest.csv`` beside the files (or one given explicitly) supplies
titles, links and series. Both ``course-ta ingest`` and a scheduled local source list videos through
this module, so they always agree on what a video is and where its link points.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.corpus.manifest import Manifest, ManifestError, read_manifest
from pipelines.corpus.transcripts import TRANSCRIPT_SUFFIXES, Transcript, TranscriptError, read_transcript
from pipelines.domain import Video, local_url

MEDIA_SUFFIXES = (".mp4", ".mkv", ".webm", ".mp3", ".m4a", ".wav", ".ogg")
# Richest timing first: Whisper/sentence JSON, then caption formats, then plain text.
_PREFERENCE = {".json": 0, ".srt": 1, ".vtt": 2, ".txt": 3}


def video_id_of(path: Path) -> str:
    """``abc123.srt`` and ``abc123.sentence_timings.json`` both belong to video ``abc123``."""
    return path.name.split(".", 1)[0]


@dataclass
class VideoFiles:
    """Every file of one video: transcripts richest first, media, and the root it was found under."""

    video_id: str
    folder: Path
    root: Path
    transcripts: list[Path] = field(default_factory=list)
    media: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class Unusable:
    """A path the user named that cannot become a video (missing, or not a transcript or media file)."""

    video_id: str
    path: Path
    reason: str


@dataclass
class Findings:
    """What listing noticed besides the videos: warnings to show and named paths that were unusable."""

    warnings: list[str] = field(default_factory=list)
    unusable: list[Unusable] = field(default_factory=list)


def discover(paths: Iterable[Path], findings: Findings) -> dict[str, VideoFiles]:
    """Group the files under ``paths`` by video id; unrelated files inside a folder are ignored."""
    videos: dict[str, VideoFiles] = {}
    for root in paths:
        if not root.exists():
            findings.unusable.append(Unusable(video_id_of(root), root, "no such file or folder"))
            continue
        files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
        for path in files:
            suffix = path.suffix.lower()
            if path.name.lower() == "manifest.csv" or path.name.startswith("."):
                continue
            if suffix not in TRANSCRIPT_SUFFIXES and suffix not in MEDIA_SUFFIXES:
                if not root.is_dir():
                    findings.unusable.append(Unusable(video_id_of(path), path, f"unsupported file type {suffix or '(none)'}"))
                continue
            video_id = video_id_of(path)
            entry = videos.get(video_id)
            if entry is not None and entry.folder != path.parent:
                findings.warnings.append(f"video {video_id} appears in {entry.folder} and {path.parent}; using both files")
            entry = videos.setdefault(video_id, VideoFiles(video_id, path.parent, root))
            (entry.media if suffix in MEDIA_SUFFIXES else entry.transcripts).append(path)
    for entry in videos.values():
        entry.transcripts.sort(key=lambda p: (_PREFERENCE.get(p.suffix.lower(), 9), p.name))
    return videos


def load_manifests(videos: dict[str, VideoFiles], explicit: Path | None, findings: Findings) -> dict[str, Manifest]:
    """One manifest per folder (``manifest.csv`` beside the files) unless one is given explicitly."""
    manifests: dict[str, Manifest] = {}
    paths = {explicit} if explicit else {v.folder / "manifest.csv" for v in videos.values()}
    for path in sorted(p for p in paths if p is not None):
        if not path.exists():
            if explicit:
                findings.warnings.append(f"manifest {path} does not exist; titles come from file names")
            continue
        try:
            manifest = read_manifest(path)
        except ManifestError as error:
            findings.warnings.append(str(error))
            continue
        findings.warnings.extend(manifest.warnings)
        manifests[str(path)] = manifest
    return manifests


def warn_orphan_rows(videos: dict[str, VideoFiles], manifests: dict[str, Manifest], findings: Findings) -> None:
    """Manifest rows without a file are usually a typo in a video id: say which."""
    for manifest in manifests.values():
        missing = sorted(set(manifest.rows) - set(videos))
        if missing:
            shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
            findings.warnings.append(f"{manifest.path.name}: {len(missing)} row(s) without a file: {shown}")


def describe_video(files: VideoFiles, manifests: dict[str, Manifest], explicit: Path | None, findings: Findings) -> Video:
    """Title, link and series from the manifest row, else from the file name and folder."""
    manifest_path = str(explicit) if explicit else str(files.folder / "manifest.csv")
    manifest = manifests.get(manifest_path)
    row = manifest.rows.get(files.video_id) if manifest else None
    if manifest and row is None:
        findings.warnings.append(f"{files.video_id}: no row in {Path(manifest_path).name}; title and link taken from the file")
    target = files.media[0] if files.media else (files.transcripts[0] if files.transcripts else None)
    url = row.url if row and row.url else (local_url(target) if target else "")
    return Video(
        video_id=files.video_id,
        title=(row.title if row and row.title else files.video_id),
        url=url,
        source=(row.series if row and row.series else files.folder.name),
        duration_s=row.duration_s if row else None,
    )


def read_best_transcript(paths: Sequence[Path]) -> tuple[Path, Transcript, list[str]]:
    """Try the richest transcript first; fall back to the next file when one is broken."""
    problems: list[str] = []
    for path in paths:
        try:
            transcript = read_transcript(path)
        except TranscriptError as error:
            problems.append(f"{path.name}: {error}")
            continue
        return path, transcript, [f"skipped {problem}" for problem in problems]
    if len(problems) == 1:
        raise TranscriptError(problems[0].split(": ", 1)[1])
    raise TranscriptError("; ".join(problems) or "no transcript file")
