"""What a video is on disk: transcript and media files grouped by video id, titled from a manifest.

A file's name up to its first dot is its video id (``abc.srt`` and ``abc.sentence_timings.json``
both belong to ``abc``); a ``manifest.csv`` beside the files (or one given explicitly) supplies
titles, links and series. Both ``course-ta ingest`` and a scheduled local source list videos through
this module, so they always agree on what a video is and where its link points.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.corpus.manifest import Manifest, ManifestError, read_manifest
from pipelines.corpus.transcription.probe import media_signature_problem
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


@dataclass(frozen=True)
class _Suspect:
    """A media file whose first bytes are no container we know."""

    video_id: str
    path: Path
    reason: str
    root: Path


def discover(paths: Iterable[Path], findings: Findings) -> dict[str, VideoFiles]:
    """Group the files under ``paths`` by video id; unrelated files inside a folder are ignored.

    Every transcript or media name that cannot be used (a broken or looping link, a folder or pipe
    named like a file) is reported: as unusable when its video has no other file, else as a warning.
    Media whose first bytes are no known container is ignored with a warning when its video has other
    files; alone, it stays listed (with a warning) and fails at the media probe if transcribed. A video id found in two folders takes its
    files from the first folder in discovery order (roots as given, then shallowest, then by name)
    and says which files it ignores.
    """
    videos: dict[str, VideoFiles] = {}
    rejected: list[Unusable] = []
    suspect: list[_Suspect] = []
    ignored: dict[str, list[Path]] = {}
    for root in paths:
        if not os.path.lexists(root):
            findings.unusable.append(Unusable(video_id_of(root), root, "no such file or folder"))
            continue
        if root.is_dir():
            candidates = _walk(root, findings, rejected)
        elif not root.exists():
            candidates = [root]  # a broken link named explicitly: classified below
        else:
            if root.suffix.lower() not in TRANSCRIPT_SUFFIXES and root.suffix.lower() not in MEDIA_SUFFIXES:
                findings.unusable.append(Unusable(video_id_of(root), root, f"unsupported file type {root.suffix.lower() or '(none)'}"))
                continue
            candidates = [root]
        for path in candidates:
            video_id = video_id_of(path)
            problem = _file_problem(path)
            if problem is not None:
                rejected.append(Unusable(video_id, path, problem))
                continue
            if path.suffix.lower() in MEDIA_SUFFIXES:
                problem = media_signature_problem(path)
                if problem is not None:
                    suspect.append(_Suspect(video_id, path, problem, root))
                    continue
            entry = videos.get(video_id)
            if entry is not None and entry.folder != path.parent:
                ignored.setdefault(video_id, []).append(path)
                continue
            entry = videos.setdefault(video_id, VideoFiles(video_id, path.parent, root))
            (entry.media if path.suffix.lower() in MEDIA_SUFFIXES else entry.transcripts).append(path)
    for video_id, extra in ignored.items():
        used = videos[video_id]
        names = ", ".join(str(p) for p in extra)
        findings.warnings.append(f"video {video_id} is in more than one folder; using the files in {used.folder}, ignoring {names}")
    for unusable in rejected:
        entry = videos.get(unusable.video_id)
        if entry is not None and (entry.transcripts or entry.media):
            findings.warnings.append(f"{unusable.path}: ignored: {unusable.reason}")
        else:
            findings.unusable.append(unusable)
    for odd in suspect:
        if odd.video_id in videos:
            findings.warnings.append(f"{odd.path}: ignored: {odd.reason}")
            continue
        # Still listed, so a download being rewritten never takes an indexed video out of the index;
        # transcribing it fails at the media probe, before any model is loaded.
        findings.warnings.append(f"{odd.path}: {odd.reason}")
        videos[odd.video_id] = VideoFiles(odd.video_id, odd.path.parent, odd.root, media=[odd.path])
    for entry in videos.values():
        entry.transcripts.sort(key=lambda p: (_PREFERENCE.get(p.suffix.lower(), 9), p.name))
    return videos


def _is_candidate(name: str) -> bool:
    """A transcript or media name that is not hidden and not a manifest."""
    if name.startswith(".") or name.lower() == "manifest.csv":
        return False
    suffix = os.path.splitext(name)[1].lower()
    return suffix in TRANSCRIPT_SUFFIXES or suffix in MEDIA_SUFFIXES


def _walk(root: Path, findings: Findings, rejected: list[Unusable]) -> list[Path]:
    """Transcript and media names under ``root``, shallowest first then by path; links to folders are not followed."""

    def unreadable(error: OSError) -> None:
        findings.warnings.append(f"cannot list folder {error.filename}: {error.strerror or error}")

    found: list[Path] = []
    for folder, dirs, files in os.walk(root, onerror=unreadable):
        for name in dirs:
            if _is_candidate(name):
                path = Path(folder) / name
                rejected.append(Unusable(video_id_of(path), path, "a folder named like a transcript or media file"))
        found.extend(Path(folder) / name for name in files if _is_candidate(name))
    return sorted(found, key=lambda p: (len(p.relative_to(root).parts), str(p)))


def _file_problem(path: Path) -> str | None:
    """Why this transcript or media name cannot be read at all (a link to nothing, a folder, a pipe)."""
    if not video_id_of(path).strip():
        return "file name has no video id before its first dot"
    try:
        info = path.stat()
    except OSError as error:
        if error.errno == errno.ELOOP:
            return "symbolic link loop"
        if error.errno == errno.ENOENT and path.is_symlink():
            return f"broken symbolic link (target {os.readlink(path)} is missing)"
        return f"cannot read file: {error.strerror or error}"
    if stat.S_ISDIR(info.st_mode):
        return "a folder named like a transcript or media file"
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file (a device or pipe named like a transcript or media file)"
    return None


def load_manifests(videos: dict[str, VideoFiles], explicit: Path | None, findings: Findings) -> dict[str, Manifest]:
    """One manifest per folder (``manifest.csv`` beside the files) unless one is given explicitly."""
    manifests: dict[str, Manifest] = {}
    paths = {explicit} if explicit else {v.folder / "manifest.csv" for v in videos.values()}
    for path in sorted(p for p in paths if p is not None):
        if not os.path.lexists(path):
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
