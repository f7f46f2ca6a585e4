"""What the app keeps about students, and how it forgets: pseudonyms, retention, ``course-ta privacy forget``.

Student ids are stored in clear in the answer log because a reply must find its thread and an
escalation its student. Everything made for analysis (console pages, exports) shows a pseudonym
instead: an HMAC-SHA256 of the id under a secret kept in ``DATA_DIR/privacy.key``, stable across
runs so counts per student still work, useless to anyone without the key. Deleting the key makes
every earlier pseudonym unlinkable.

Retention blanks the texts (question, answer, vote comment, TA reply) of rows older than the
retention period and replaces the clear student id by its pseudonym; timestamps, votes and
citations stay for the statistics. Deletes and blanks run with SQLite's ``secure_delete`` and a WAL
checkpoint, so the removed text does not linger in free pages or the write-ahead log.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

PSEUDONYM_PREFIX = "s-"
KEY_FILE = "privacy.key"


class Pseudonyms:
    """Stable pseudonyms of student ids under the data dir's secret (created on first use, readable by the owner only)."""

    def __init__(self, data_dir: Path) -> None:
        self.key_path = data_dir / KEY_FILE
        self._key: bytes | None = None

    def _secret(self) -> bytes:
        if self._key is None:
            if not self.key_path.exists():
                self.key_path.parent.mkdir(parents=True, exist_ok=True)
                try:
                    descriptor = os.open(self.key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                except FileExistsError:  # another process made it first: use theirs
                    pass
                else:
                    with os.fdopen(descriptor, "w") as handle:
                        handle.write(secrets.token_hex(32))
            self._key = bytes.fromhex(self.key_path.read_text().strip())
        return self._key

    def __call__(self, user: str | None) -> str | None:
        """The pseudonym of ``user`` (``None`` stays ``None``; a pseudonym stays itself)."""
        if user is None or user == "" or is_pseudonym(user):
            return user
        digest = hmac.new(self._secret(), user.encode("utf-8"), hashlib.sha256).hexdigest()
        return PSEUDONYM_PREFIX + digest[:16]


def is_pseudonym(value: str) -> bool:
    """Whether ``value`` has the shape of a pseudonym (``s-`` and 16 hex digits)."""
    rest = value.removeprefix(PSEUDONYM_PREFIX)
    return value.startswith(PSEUDONYM_PREFIX) and len(rest) == 16 and all(c in "0123456789abcdef" for c in rest)


@dataclass
class Removed:
    """How many rows each table lost (or had blanked)."""

    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """All rows touched."""
        return sum(self.counts.values())


def _tables(db: sqlite3.Connection) -> set[str]:
    return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _open(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=30.0)
    db.execute("PRAGMA secure_delete = ON")  # removed text is overwritten, not left in free pages
    return db


def _checkpoint(db: sqlite3.Connection) -> None:
    """Move the WAL into the main file and truncate it, so no copy of a removed row stays in the log."""
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def forget_student(db_path: Path, pseudonyms: Pseudonyms, user: str) -> Removed:
    """Delete one student's records everywhere in the answer log: answers (and every vote on them), their votes, escalations.

    ``user`` is the platform id (``U0123…``, a Discord snowflake) or its pseudonym; rows whose
    clear id was already replaced by the pseudonym (past retention) are found too.
    """
    removed = Removed()
    if not db_path.exists():
        return removed
    names = {user, pseudonyms(user)} if not is_pseudonym(user) else {user}
    if is_pseudonym(user):
        names |= _clear_ids_with_pseudonym(db_path, pseudonyms, user)
    marks = ",".join("?" * len(names))
    values = tuple(names)
    db = _open(db_path)
    try:
        with db:
            tables = _tables(db)
            if "answers" in tables:
                removed.counts["votes"] = db.execute(
                    f"DELETE FROM votes WHERE user IN ({marks}) OR answer_id IN (SELECT id FROM answers WHERE user IN ({marks}))",
                    values + values,
                ).rowcount
                removed.counts["answers"] = db.execute(f"DELETE FROM answers WHERE user IN ({marks})", values).rowcount
            if "escalations" in tables:
                removed.counts["escalations"] = db.execute(f"DELETE FROM escalations WHERE user IN ({marks})", values).rowcount
        _checkpoint(db)
    finally:
        db.close()
    return removed


def _clear_ids_with_pseudonym(db_path: Path, pseudonyms: Pseudonyms, pseudonym: str) -> set[str]:
    """The clear ids in the log whose pseudonym is ``pseudonym`` (forgetting by pseudonym)."""
    db = sqlite3.connect(db_path, timeout=30.0)
    try:
        tables = _tables(db)
        found: set[str] = set()
        for table in ("answers", "votes", "escalations"):
            if table in tables:
                found |= {row[0] for row in db.execute(f"SELECT DISTINCT user FROM {table} WHERE user IS NOT NULL")}
    finally:
        db.close()
    return {user for user in found if pseudonyms(user) == pseudonym}


def apply_retention(db_path: Path, pseudonyms: Pseudonyms, days: int, now: float | None = None) -> Removed:
    """Blank the texts older than ``days`` and pseudonymize their student ids; 0 days keeps everything."""
    removed = Removed()
    if days <= 0 or not db_path.exists():
        return removed
    cutoff = (time.time() if now is None else now) - days * 86_400
    db = _open(db_path)
    db.create_function("pseudonym", 1, pseudonyms, deterministic=True)
    try:
        with db:
            tables = _tables(db)
            if "answers" in tables:
                removed.counts["votes"] = db.execute(
                    "UPDATE votes SET comment = NULL, user = pseudonym(user) WHERE answer_id IN"
                    " (SELECT id FROM answers WHERE created_at < ?) AND (comment IS NOT NULL OR user NOT LIKE 's-%')",
                    (cutoff,),
                ).rowcount
                removed.counts["answers"] = db.execute(
                    "UPDATE answers SET question = '', answer = '', user = pseudonym(user)"
                    " WHERE created_at < ? AND (question != '' OR answer != '' OR user NOT LIKE 's-%')",
                    (cutoff,),
                ).rowcount
                if "embedding" in {row[1] for row in db.execute("PRAGMA table_info(answers)")}:  # a question's vector goes with its text
                    db.execute("UPDATE answers SET embedding = NULL WHERE created_at < ? AND embedding IS NOT NULL", (cutoff,))
            if "escalations" in tables:
                removed.counts["escalations"] = db.execute(
                    "UPDATE escalations SET question = '', answer = '', ta_reply = NULL, user = pseudonym(user)"
                    " WHERE created_at < ? AND (question != '' OR answer != '' OR ta_reply IS NOT NULL OR user NOT LIKE 's-%')",
                    (cutoff,),
                ).rowcount
        if removed.total:
            _checkpoint(db)
    finally:
        db.close()
    return removed
