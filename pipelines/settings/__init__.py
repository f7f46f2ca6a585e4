"""One validated settings object for the whole app, read from ``COURSE_TA_*`` variables and ``.env``.

Every value that comes from outside is checked here, once, at start-up, so a typo fails with a
one-line message naming the variable instead of a stack trace deep inside a pipeline. Each concern
declares its own fields and checks in its own module; ``Settings`` combines them into one object,
so callers read ``settings.chunk_words`` or ``settings.elasticsearch_url`` without knowing where
the field is declared.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Self

from pydantic import ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from pipelines.settings.console import ConsoleSettings
from pipelines.settings.courses import CourseSettings
from pipelines.settings.discord import DiscordSettings
from pipelines.settings.freshness import FreshnessSettings
from pipelines.settings.llm import LlmSettings
from pipelines.settings.models import ModelSettings, bundled_embedding_model
from pipelines.settings.retrieval import RetrievalSettings
from pipelines.settings.serving import ServingSettings
from pipelines.settings.slack import SlackSettings
from pipelines.settings.store import StoreSettings, default_data_dir
from pipelines.settings.validators import ENV_PREFIX, variable_name
from pipelines.settings.voice import VoiceSettings

__all__ = ["ENV_PREFIX", "Settings", "SettingsError", "bundled_embedding_model", "default_data_dir", "load_settings"]


class SettingsError(ValueError):
    """A configuration value is wrong; the message is one line that names the variable."""


class Settings(
    StoreSettings,
    ModelSettings,
    RetrievalSettings,
    FreshnessSettings,
    LlmSettings,
    VoiceSettings,
    SlackSettings,
    DiscordSettings,
    ServingSettings,
    CourseSettings,
    ConsoleSettings,
    BaseSettings,
):
    """Everything configurable. Field ``x`` is read from ``COURSE_TA_X`` (or ``.env``)."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        validate_default=True,
    )

    @model_validator(mode="after")
    def _assembled_model_by_name(self) -> Self:
        """``COURSE_TA_EMBEDDING_MODEL=NAME`` finds a model assembled by ``course-ta models assemble NAME``."""
        assembled = self.data_dir / "models" / self.embedding_model
        if not Path(self.embedding_model).exists() and "/" not in self.embedding_model and assembled.is_dir():
            self.embedding_model = str(assembled)
        return self


def load_settings(*, deployment: bool = False, **overrides: Any) -> Settings:
    """Build the settings, turning pydantic's report into one line per bad variable.

    With a courses file, the settings are those of the course the command works on (``--course``,
    or the only course); ``deployment=True`` returns the whole deployment's settings instead, for the
    commands that serve or schedule every course.
    """
    try:
        settings = Settings(**overrides)
    except ValidationError as error:
        raise SettingsError(_one_line(error)) from None
    if deployment or not (settings.course or settings.courses_file or settings.courses_path.exists()):
        return settings
    from pipelines.courses.catalog import CourseError
    from pipelines.courses.course_settings import course_settings

    try:
        return course_settings(settings)
    except CourseError as error:
        raise SettingsError(str(error)) from None


def _one_line(error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        location = [str(part) for part in item.get("loc", ()) if part != "__root__"]
        message = item.get("msg", "invalid value").removeprefix("Value error, ")
        problems.append(f"{variable_name(location[0])}: {message}" if location else message)
    return "invalid configuration: " + "; ".join(problems)
