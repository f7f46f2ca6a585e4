"""Registered voices on disk: the instructor's normalized reference clips and each backend's handle.

``<data_dir>/voices/<name>/voice.json`` records the clips (by content hash) and, per cloning
backend, what it returned (ElevenLabs' voice id) and from which clips, so cloning happens once and
is redone only when the clips change.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voice.backends.base import ReferenceClipFile


@dataclass
class RegisteredVoice:
    """A voice: its reference clips and, per cloning backend, what that backend made of them."""

    name: str
    clips: list[ReferenceClipFile]
    backends: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def clips_digest(self) -> str:
        """One hash for the whole clip set: what a backend's clone was made from."""
        return hashlib.sha256("".join(sorted(c.sha256 for c in self.clips)).encode()).hexdigest()[:16]


class VoiceRegistry:
    """The voices stored under one root folder (``<data_dir>/voices``)."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def folder(self, name: str) -> Path:
        """Where ``name``'s ``voice.json`` and clips live."""
        return self.root / name

    def clips_folder(self, name: str) -> Path:
        """Where ``name``'s normalized reference WAVs live."""
        return self.folder(name) / "clips"

    def get(self, name: str) -> RegisteredVoice | None:
        """The registered voice, or None when it is missing or its ``voice.json`` is unreadable."""
        path = self.folder(name) / "voice.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        clips = [
            ReferenceClipFile(self.clips_folder(name) / item["file"], item["sha256"], float(item["duration_s"]))
            for item in data.get("clips", [])
        ]
        return RegisteredVoice(name=name, clips=clips, backends=dict(data.get("backends", {})))

    def save(self, voice: RegisteredVoice) -> None:
        """Write ``voice.json`` atomically (temporary file, then rename)."""
        folder = self.folder(voice.name)
        folder.mkdir(parents=True, exist_ok=True)
        data = {
            "name": voice.name,
            "clips": [{"file": c.path.name, "sha256": c.sha256, "duration_s": round(c.duration_s, 3)} for c in voice.clips],
            "backends": voice.backends,
        }
        temporary = folder / "voice.json.tmp"
        temporary.write_text(json.dumps(data, indent=2), encoding="utf-8")
        os.replace(temporary, folder / "voice.json")
