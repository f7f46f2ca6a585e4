"""``manifest.csv``: titles, URLs and series for the videos in a folder (DESIGN.md ingest input).

Columns: ``video_id,title,url`` required-ish (only ``video_id`` is mandatory), anything else is
kept. A broken row is reported and skipped; it never stops the rest of the manifest.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.corpus.transcripts.decoding import decode_transcript_bytes
from pipelines.corpus.transcripts.errors import TranscriptError


class ManifestError(ValueError):
    """The manifest as a whole cannot be used (unreadable, no video_id column)."""


@dataclass
class ManifestRow:
    """One video's row; columns the row left empty are empty strings, an unusable duration is None."""

    video_id: str
    title: str = ""
    url: str = ""
    series: str = ""
    duration_s: float | None = None


@dataclass
class Manifest:
    """The usable rows by video id, and a warning for every row that was skipped or corrected."""

    path: Path
    rows: dict[str, ManifestRow] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def read_manifest(path: Path) -> Manifest:
    """Read the manifest; ManifestError only when the file as a whole is unusable, bad rows become warnings."""
    try:
        text = decode_transcript_bytes(path.read_bytes()).text
    except (OSError, TranscriptError) as error:
        raise ManifestError(f"{path}: cannot read manifest: {error}") from None
    reader = csv.DictReader(io.StringIO(text))
    columns = [c.strip().lower() for c in (reader.fieldnames or [])]
    if "video_id" not in columns:
        raise ManifestError(f"{path}: manifest has no 'video_id' column (columns: {', '.join(columns) or 'none'})")
    manifest = Manifest(path=path)
    for line_number, raw in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() if isinstance(v, str) else "" for k, v in raw.items()}
        video_id = row.get("video_id", "")
        if not video_id:
            manifest.warnings.append(f"{path.name}:{line_number}: row without video_id skipped")
            continue
        if video_id in manifest.rows:
            manifest.warnings.append(f"{path.name}:{line_number}: duplicate video_id {video_id!r}; first row kept")
            continue
        url = row.get("url", "")
        if url and not url.startswith(("http://", "https://", "file://")):
            manifest.warnings.append(f"{path.name}:{line_number}: url {url!r} is not http(s); ignored")
            url = ""
        manifest.rows[video_id] = ManifestRow(
            video_id=video_id,
            title=row.get("title", ""),
            url=url,
            series=row.get("series", ""),
            duration_s=_duration(row.get("duration_s", "")),
        )
    return manifest


def _duration(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None
