"""Instructor accounts, one-time set-up tokens and the brake on password guessing.

Passwords are hashed with werkzeug's scrypt (``generate_password_hash``); one-time tokens are kept
only as SHA-256 hashes and expire. Both live in ``DATA_DIR/console/console.sqlite``, apart from any
student data. Wrong passwords are counted per account name and per client address: past
``MAX_FAILURES`` within ``WINDOW_S`` the login answers 429 until the window has passed, whatever the
password (so a guess that happens to be right is refused too while the brake is on).
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

from werkzeug.security import check_password_hash, generate_password_hash

from bot.answering.sqlite_file import SqliteFile

TOKEN_TTL_S = 24 * 3600
MAX_FAILURES = 5
WINDOW_S = 15 * 60
MIN_PASSWORD = 10
# Compared against when the account does not exist, so a wrong name costs the same time as a wrong password.
_DUMMY_HASH = generate_password_hash(secrets.token_hex(8), method="scrypt")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS instructors (
    username TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS setup_tokens (
    token_hash TEXT PRIMARY KEY,
    expires_at REAL NOT NULL,
    used_at REAL
);
"""


class AccountError(ValueError):
    """A set-up or password change that cannot be done; the message is for the instructor."""


class Accounts:
    """Instructor accounts and one-time tokens in the console's own SQLite file."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.clock = clock
        self._file = SqliteFile(path, lambda db: db.executescript(_SCHEMA), wal=False, dir_mode=0o700)

    def _connect(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._file.connect()

    def count(self) -> int:
        """How many instructors can log in."""
        with self._connect() as db:
            return int(db.execute("SELECT COUNT(*) FROM instructors").fetchone()[0])

    def create_token(self) -> str:
        """A new one-time set-up token (shown once; only its hash is stored)."""
        token = secrets.token_urlsafe(24)
        with self._connect() as db:
            db.execute("INSERT INTO setup_tokens (token_hash, expires_at) VALUES (?, ?)", (_hash(token), self.clock() + TOKEN_TTL_S))
        return token

    def redeem(self, token: str, username: str, password: str) -> None:
        """Create (or reset the password of) ``username`` with an unused, unexpired token, which is then spent."""
        username = username.strip()
        check_new_account(username, password)
        with self._connect() as db:
            row = db.execute("SELECT expires_at, used_at FROM setup_tokens WHERE token_hash = ?", (_hash(token.strip()),)).fetchone()
            if row is None or row[1] is not None or row[0] < self.clock():
                raise AccountError("That token is unknown, expired or already used. Run `course-ta console --create-admin` for a new one.")
            db.execute("UPDATE setup_tokens SET used_at = ? WHERE token_hash = ?", (self.clock(), _hash(token.strip())))
            db.execute(
                "INSERT INTO instructors (username, password_hash, created_at) VALUES (?, ?, ?)"
                " ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash",
                (username, generate_password_hash(password, method="scrypt"), self.clock()),
            )

    def add(self, username: str, password: str) -> None:
        """Create or reset an instructor account directly (the CLI's ``--add-instructor``)."""
        username = username.strip()
        check_new_account(username, password)
        with self._connect() as db:
            db.execute(
                "INSERT INTO instructors (username, password_hash, created_at) VALUES (?, ?, ?)"
                " ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash",
                (username, generate_password_hash(password, method="scrypt"), self.clock()),
            )

    def verify(self, username: str, password: str) -> bool:
        """Whether the password is this instructor's; unknown names cost the same hashing time."""
        with self._connect() as db:
            row = db.execute("SELECT password_hash FROM instructors WHERE username = ?", (username.strip(),)).fetchone()
        ok = check_password_hash(row[0] if row else _DUMMY_HASH, password)
        return bool(ok and row)


def check_new_account(username: str, password: str) -> None:
    """A name of 1-64 visible characters and a password of at least :data:`MIN_PASSWORD` characters."""
    if not 1 <= len(username) <= 64 or not username.isprintable():
        raise AccountError("The user name must be 1-64 printable characters.")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"The password must have at least {MIN_PASSWORD} characters.")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class LoginThrottle:
    """Counts failed logins per key (account name, client address) in a sliding window; in memory, per process."""

    def __init__(self, max_failures: int = MAX_FAILURES, window_s: float = WINDOW_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str) -> deque[float]:
        now = self.clock()
        entries = self._failures.setdefault(key, deque())
        while entries and entries[0] <= now - self.window_s:
            entries.popleft()
        return entries

    def retry_after(self, *keys: str) -> float:
        """Seconds until a login may be tried for these keys again; 0 when it may be tried now."""
        with self._lock:
            waits = []
            for key in keys:
                entries = self._recent(key)
                if len(entries) >= self.max_failures:
                    waits.append(entries[0] + self.window_s - self.clock())
            return max(waits, default=0.0)

    def failed(self, *keys: str) -> None:
        """Count one failed attempt against every key."""
        with self._lock:
            now = self.clock()
            for key in keys:
                self._recent(key).append(now)
            if len(self._failures) > 10_000:  # an address flood must not grow memory without bound
                for key in [k for k, v in self._failures.items() if not v]:
                    del self._failures[key]

    def succeeded(self, *keys: str) -> None:
        """A successful login clears the account's count (not the address's)."""
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)
