"""``course-ta doctor``: check every configured piece, say what works and the exact fix for what doesn't."""

from bot.doctor.result import CheckResult
from bot.doctor.run import run_checks

__all__ = ["CheckResult", "run_checks"]
