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

MAX_MANIFEST_BYTES = 8 * 1024 * 1024
# Titles, URLs and ids are shown in answers and links; a field this long is a broken quote, not a title.
MAX_FIELD_CHARS = 2000


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
        if not path.is_file():
            raise ManifestError(f"{path}: manifest is not a regular file")
        size = path.stat().st_size
        if size > MAX_MANIFEST_BYTES:
            raise ManifestError(
                f"{path}: manifest is {size / (1024 * 1024):.1f} MiB; manifests over {MAX_MANIFEST_BYTES // (1024 * 1024)} MiB are not read"
            )
        text = decode_transcript_bytes(path.read_bytes()).text
    except (OSError, TranscriptError) as error:
        raise ManifestError(f"{path}: cannot read manifest: {error}") from None
    reader = csv.DictReader(io.StringIO(text), strict=True)  # strict: an unclosed quote is an error, not a swallowed file
    try:
        fieldnames = reader.fieldnames or []
    except csv.Error as error:
        raise ManifestError(f"{path}: manifest header is not CSV: {error}") from None
    columns = [c.strip().lower() for c in fieldnames]
    if "video_id" not in columns:
        shown = ", ".join(c[:40] for c in columns[:10]) or "none"
        raise ManifestError(f"{path}: manifest has no 'video_id' column (columns: {shown})")
    manifest = Manifest(path=path)
    try:
        _read_rows(path, reader, manifest)
    except csv.Error as error:
        # A stray quote swallows the rest of the file into one field: keep the rows before it.
        manifest.warnings.append(f"{path}:{reader.line_num}: not valid CSV ({error}); rows from here on skipped")
    return manifest


def _read_rows(path: Path, reader: csv.DictReader, manifest: Manifest) -> None:
    for line_number, raw in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() if isinstance(v, str) else "" for k, v in raw.items()}
        video_id = row.get("video_id", "")
        if not video_id:
            manifest.warnings.append(f"{path}:{line_number}: row without video_id skipped")
            continue
        too_long = sorted(key for key in ("video_id", "title", "url", "series") if len(row.get(key, "")) > MAX_FIELD_CHARS)
        if too_long:
            manifest.warnings.append(f"{path}:{line_number}: {', '.join(too_long)} longer than {MAX_FIELD_CHARS} characters; row skipped")
            continue
        if video_id in manifest.rows:
            manifest.warnings.append(f"{path}:{line_number}: duplicate video_id {video_id!r}; first row kept")
            continue
        url = row.get("url", "")
        if url and not url.startswith(("http://", "https://", "file://")):
            manifest.warnings.append(f"{path}:{line_number}: url {url!r} is not http(s); ignored")
            url = ""
        manifest.rows[video_id] = ManifestRow(
            video_id=video_id,
            title=row.get("title", ""),
            url=url,
            series=row.get("series", ""),
            duration_s=_duration(row.get("duration_s", "")),
        )


def _duration(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None
