"""Sentence-transformers models that reach us as a zip split into numbered parts, assembled locally.

Some models are published on the package index as several packages, each holding one part of a
zip (``all-mpnet-base-v2.zip.001`` … ``.005``), because one wheel may not hold 400 MB. Nothing may
be fetched from a model hub here, so assembling those parts is the way to a stronger embedder:
find the parts (in installed packages or folders the user names), check that the numbering has no
gap, join them, verify every member's CRC, unpack into ``DATA_DIR/models/NAME`` without letting a
member escape that folder, and check that the result looks like a sentence-transformers model.
The folder then works as ``COURSE_TA_EMBEDDING_MODEL=NAME`` (or its full path).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

PART = re.compile(r"^(?P<name>.+)\.zip\.(?P<number>\d{3})$")
MARKER = ".course-ta-assembled.json"
# Files that archiving tools add and that no model needs.
JUNK = {"desktop.ini", ".DS_Store", "Thumbs.db"}
MODEL_FILES = ("modules.json", "config_sentence_transformers.json", "config.json")
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


class ModelArchiveError(ValueError):
    """The parts are missing, out of sequence or corrupt, or the archive is not a model; the message says which."""


@dataclass(frozen=True)
class AssembledModel:
    """Where an assembled model lives and what it was made from."""

    name: str
    path: Path
    parts: int
    size_bytes: int
    reused: bool  # True when an identical earlier assembly was kept instead of unpacking again


def models_dir(data_dir: Path) -> Path:
    """The folder under the data dir that holds assembled models, one sub-folder per model name."""
    return data_dir / "models"


def installed_part_files(name: str) -> list[Path]:
    """Parts named ``NAME.zip.NNN`` shipped inside installed distributions (the packaged-model wheels)."""
    found: list[Path] = []
    for distribution in importlib.metadata.distributions():
        for file in distribution.files or ():
            match = PART.match(PurePosixPath(str(file)).name)
            if match and match["name"] == name:
                found.append(Path(str(distribution.locate_file(file))))
    return found


def part_files_in(folders: Iterable[Path], name: str) -> list[Path]:
    """Parts named ``NAME.zip.NNN`` anywhere below the given folders."""
    found: list[Path] = []
    for folder in folders:
        if not folder.is_dir():
            raise ModelArchiveError(f"{folder} is not a folder")
        found.extend(p for p in folder.rglob(f"{name}.zip.*") if p.is_file() and PART.match(p.name))
    return found


def ordered_parts(paths: Sequence[Path], name: str) -> list[Path]:
    """The parts in order 001..N; a gap, a duplicate number or no part at all is an error naming the problem."""
    if not paths:
        raise ModelArchiveError(f"no parts of {name} found: install them (pip install {name}-pypi-part-001 … ) or pass --parts FOLDER")
    by_number: dict[int, Path] = {}
    for path in paths:
        match = PART.match(path.name)
        if match is None or match["name"] != name:
            raise ModelArchiveError(f"{path.name} is not a part of {name}.zip")
        number = int(match["number"])
        if number in by_number and by_number[number].resolve() != path.resolve():
            raise ModelArchiveError(f"part {number:03d} of {name} found twice: {by_number[number]} and {path}")
        by_number[number] = path
    missing = [n for n in range(1, max(by_number) + 1) if n not in by_number]
    if missing:
        raise ModelArchiveError(f"{name}: part(s) {', '.join(f'{n:03d}' for n in missing)} missing (found {len(by_number)})")
    return [by_number[n] for n in sorted(by_number)]


def parts_digest(parts: Sequence[Path]) -> str:
    """Identifies a set of parts by their names and sizes, cheaply, to skip re-assembling the same parts."""
    listing = [(p.name, p.stat().st_size) for p in parts]
    return hashlib.sha256(json.dumps(listing).encode()).hexdigest()


def _safe_members(archive: zipfile.ZipFile) -> list[tuple[zipfile.ZipInfo, PurePosixPath]]:
    """Each file member with its path below the archive's single top folder (if any); unsafe paths are errors."""
    entries = [(info, PurePosixPath(info.filename)) for info in archive.infolist() if not info.is_dir()]
    for _, path in entries:
        if path.is_absolute() or ".." in path.parts or "\\" in str(path):
            raise ModelArchiveError(f"refusing archive member with an unsafe path: {path}")
    tops = {path.parts[0] for _, path in entries if len(path.parts) > 1}
    strip = len(tops) == 1 and all(len(path.parts) > 1 for _, path in entries)
    kept = []
    for info, path in entries:
        relative = PurePosixPath(*path.parts[1:]) if strip else path
        if relative.name in JUNK or "__MACOSX" in relative.parts:
            continue
        kept.append((info, relative))
    return kept


def assemble(name: str, parts: Sequence[Path], destination_root: Path, *, force: bool = False) -> AssembledModel:
    """Join ``parts`` into ``destination_root/name``; atomic, so an interrupted run leaves no half model behind."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
        raise ModelArchiveError(f"model name {name!r} may only hold letters, digits, '.', '_' and '-'")
    ordered = ordered_parts(parts, name)
    digest = parts_digest(ordered)
    target = destination_root / name
    marker = target / MARKER
    if not force and marker.is_file():
        try:
            recorded = json.loads(marker.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            recorded = {}
        if recorded.get("parts_digest") == digest:
            return AssembledModel(name, target, len(ordered), int(recorded.get("size_bytes", 0)), reused=True)
    destination_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=destination_root, prefix=f".{name}.") as scratch:
        joined = Path(scratch) / f"{name}.zip"
        with joined.open("wb") as out:
            for part in ordered:
                with part.open("rb") as source:
                    shutil.copyfileobj(source, out, length=8 * 1024 * 1024)
        try:
            archive = zipfile.ZipFile(joined)
        except (zipfile.BadZipFile, OSError) as error:
            raise ModelArchiveError(f"the joined parts of {name} are not a zip archive ({error}); a part is damaged or foreign") from None
        with archive:
            broken = archive.testzip()
            if broken is not None:
                raise ModelArchiveError(f"{name}: member {broken} fails its CRC check; reinstall the parts")
            unpacked = Path(scratch) / "model"
            size = 0
            for info, relative in _safe_members(archive):
                destination = unpacked.joinpath(*relative.parts)
                destination.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(info) as source, destination.open("wb") as out:
                    shutil.copyfileobj(source, out, length=8 * 1024 * 1024)
                size += info.file_size
        if not any((unpacked / f).is_file() for f in MODEL_FILES):
            raise ModelArchiveError(f"{name}: the archive holds no {' / '.join(MODEL_FILES)}; it is not a sentence-transformers model")
        if not any(next(unpacked.rglob(w), None) is not None for w in WEIGHT_FILES):
            raise ModelArchiveError(f"{name}: the archive holds no weights ({' or '.join(WEIGHT_FILES)}); it is not a usable model")
        (unpacked / MARKER).write_text(
            json.dumps({"name": name, "parts": [p.name for p in ordered], "parts_digest": digest, "size_bytes": size}),
            encoding="utf-8",
        )
        if target.exists():
            shutil.rmtree(target)
        unpacked.rename(target)
    return AssembledModel(name, target, len(ordered), size, reused=False)


def assembled_models(data_dir: Path) -> list[Path]:
    """The models assembled under the data dir (folders that carry the assembly marker)."""
    root = models_dir(data_dir)
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if (p / MARKER).is_file())
