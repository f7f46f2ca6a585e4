"""Run every check in a fixed order; one failing check never stops the others."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from bot.doctor import local, remote
from bot.doctor.result import CheckResult
from pipelines.settings import Settings


def run_checks(settings: Settings, online: bool = False, load_models: bool = True) -> list[CheckResult]:
    """Every check, local ones first; ``online`` contacts Slack, ``load_models`` loads the embedding model."""
    results = [local.check_data_dir(settings), local.check_index(settings)]
    if load_models:
        results.append(local.check_embedding_model(settings))
    results.append(local.check_relevance_threshold(settings))
    results += [
        local.check_whisper_model(settings),
        local.check_piper_voice(settings),
        local.check_ffmpeg(settings),
        local.check_opus(settings),
        remote.check_slack(settings, online=online),
        remote.check_discord(settings),
    ]
    results += _guard("elasticsearch", lambda: remote.check_elasticsearch(settings))
    results += _guard("tortoise", lambda: remote.check_tortoise(settings))
    return results


def _guard(name: str, check: Callable[[], Iterable[CheckResult]]) -> list[CheckResult]:
    """An unexpected error inside a check is reported as that check failing, with the error."""
    try:
        return list(check())
    except Exception as error:
        return [CheckResult(name, "fail", f"check crashed: {type(error).__name__}: {error}", "run with -v and report it")]
