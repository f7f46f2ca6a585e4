"""One check's outcome: ``fail`` blocks (non-zero exit), ``warn`` degrades, ``ok`` and ``skip`` don't."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Status = Literal["ok", "warn", "fail", "skip"]


@dataclass(frozen=True)
class CheckResult:
    """What one check found, and the fix when it is not ``ok``."""

    name: str
    status: Status
    detail: str
    fix: str = ""

    @property
    def blocking(self) -> bool:
        """True for ``fail``: the service could not do its job."""
        return self.status == "fail"

    def to_dict(self) -> dict[str, Any]:
        """The fields as a dict for ``doctor --json``."""
        return asdict(self)
