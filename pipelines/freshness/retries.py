"""When a failed video is tried again: recording a failure with its backoff, and the check before a retry.

Retryable failures (network, throttling, a full disk) wait with exponential backoff, up to
``retry_max_attempts``; the others wait until the video's input changes, since a new input hash
means a new attempt at a different video.
"""

from __future__ import annotations

from collections.abc import Callable

from pipelines.freshness.faults import Fault, backoff_seconds, classify
from pipelines.freshness.ledger import FAILED, WORK_STAGES, Ledger, StageRecord
from pipelines.settings import Settings


def blocked_reason(records: dict[str, StageRecord], inputs: dict[str, str], *, now: float, max_attempts: int) -> str | None:
    """Why this video must not be retried now (permanent failure, backoff, too many attempts), or None.

    A failure recorded with another input hash than the one ``inputs`` gives for its stage no longer
    counts: the video changed since.
    """
    for stage in WORK_STAGES:
        record = records.get(stage)
        if record is None or record.status != FAILED or record.input_hash != inputs.get(stage, record.input_hash):
            continue
        if not record.retryable:
            return f"{stage}: {record.last_error} (not retried until the video changes)"
        if record.attempts >= max_attempts:
            return f"{stage}: {record.last_error} (gave up after {record.attempts} attempts)"
        if record.next_attempt_at is not None and record.next_attempt_at > now:
            return f"{stage}: {record.last_error} (next attempt in {int(record.next_attempt_at - now)}s)"
    return None


def record_failure(
    ledger: Ledger,
    settings: Settings,
    video_id: str,
    stage: str,
    error: Exception,
    earlier: StageRecord | None,
    clock: Callable[[], float],
) -> Fault:
    """Record ``error`` as the stage's failure with when it may be tried again; returns it in words.

    ``earlier`` is the stage's record from before this attempt, used when the stage failed before
    it could record its start.
    """
    fault = classify(error)
    attempts = ledger.stage(video_id, stage) or earlier
    count = attempts.attempts if attempts else 1
    retry_at = clock() + backoff_seconds(count, settings.retry_base_seconds, settings.retry_max_seconds) if fault.retryable else None
    ledger.fail(video_id, stage, fault.reason, fault.retryable, retry_at)
    return fault
