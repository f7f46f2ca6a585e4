"""``course-ta voice clone``: validate the instructor's clips, register the voice, clone it everywhere.

Validation happens before anything is stored or uploaded, so a bad clip is one clear error and no
half-registered voice. Every backend that can clone gets the same normalized clips; one that cannot
right now (no key, no worker) is reported, not fatal: the voice is registered and can be cloned
there later by running the command again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pipelines.settings import Settings
from voice.backends.base import BackendError, CloningBackend
from voice.backends.elevenlabs import ElevenLabsBackend
from voice.backends.tortoise import TortoiseBackend
from voice.reference_clips import ReferenceClipError, check_clip, store_clips
from voice.registry import RegisteredVoice, VoiceRegistry

MIN_TOTAL_SECONDS = 6.0


@dataclass
class CloneReport:
    """What ``voice clone`` did: the clips kept, and per backend what was done or why not."""

    voice: str
    clips: int
    total_seconds: float
    backends: dict[str, str] = field(default_factory=dict)  # backend → what happened
    failed: dict[str, str] = field(default_factory=dict)  # backend → why not


def clone_voice(name: str, clip_paths: list[Path], settings: Settings, convert: bool = False) -> CloneReport:
    """Validate, register and clone ``name`` from the clips on every cloning backend.

    Raises :class:`ReferenceClipError` before anything is stored when a clip is unusable or there is
    too little distinct speech; a backend that cannot clone is reported in ``failed``, never raised.
    """
    if not clip_paths:
        raise ReferenceClipError("give at least one reference clip")
    reports = [check_clip(Path(path), convert=convert) for path in clip_paths]  # raises on the first bad clip
    registry = VoiceRegistry(settings.voice_dir)
    clips_folder = registry.clips_folder(name)
    unique = {report.audio.to_wav(): report for report in reports}  # the same clip twice counts once
    total = sum(report.duration_s for report in unique.values())
    if total < MIN_TOTAL_SECONDS:
        raise ReferenceClipError(
            f"only {total:.1f} s of distinct speech in all clips; give at least {MIN_TOTAL_SECONDS:g} s (30 s to a few minutes clones best)"
        )
    stored = store_clips(list(unique.values()), clips_folder)
    keep = {clip.path.name for clip in stored}
    for old in clips_folder.glob("*.wav"):
        if old.name not in keep:
            old.unlink()
    previous = registry.get(name)
    voice = RegisteredVoice(name=name, clips=stored, backends=previous.backends if previous else {})
    registry.save(voice)
    report = CloneReport(voice=name, clips=len(stored), total_seconds=total)
    backends: tuple[CloningBackend, ...] = (TortoiseBackend(settings), ElevenLabsBackend(settings))
    for backend in backends:
        try:
            report.backends[backend.name] = backend.clone(name, stored)
        except BackendError as error:
            report.failed[backend.name] = str(error)
    return report
