"""Which courses the deployment serves: the courses file, and the course a CLI command works on."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BeforeValidator

from pipelines.settings.store import DataDirSettings
from pipelines.settings.validators import unset_if_blank


class CourseSettings(DataDirSettings):
    """Without a courses file the deployment is one course that uses the data dir as before."""

    # The reviewed courses file; empty = <data dir>/courses.toml when it exists.
    courses_file: Annotated[Path | None, BeforeValidator(unset_if_blank)] = None
    # The course a CLI command works on (`--course` sets it); empty = the only course, or ask.
    course: str = ""

    @property
    def courses_path(self) -> Path:
        """The courses file in effect (it may not exist: then there is one implicit course)."""
        return self.courses_file or self.data_dir / "courses.toml"
