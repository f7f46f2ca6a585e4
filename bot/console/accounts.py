"""Instructor accounts, one-time set-up tokens and the brake on password guessing.

Passwords are hashed with werkzeug's scrypt (``generate_password_hash``); one-time tokens are kept
only as SHA-256 hashes and expire. Both live in ``DATA_DIR/console/console.sqlite``, apart from any
student data. Wrong passwords are braked by :class:`LoginBrake`: past a limit within ``WINDOW_S`` the
login answers 429 until the window has passed, whatever the password (so a guess that happens to be
right is refused too while the brake is on). The tight limit is per (account, client address) pair, so
nobody can lock an instructor out by guessing wrong from elsewhere; two higher ceilings, per address
and per account, still slow one address trying many accounts and many addresses trying one.
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
MAX_FAILURES = 5  # per (account, address) pair
ADDRESS_MAX_FAILURES = 30  # per address, whatever accounts it tries
ACCOUNT_MAX_FAILURES = 100  # per account, whatever addresses try it: 20 addresses at the pair limit
WINDOW_S = 15 * 60
MAX_KEYS = 10_000  # past this many counted keys, the expired ones are dropped
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
    """Counts failed attempts per key in a sliding window; in memory, per process."""

    def __init__(self, max_failures: int = MAX_FAILURES, window_s: float = WINDOW_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        entries = self._failures.setdefault(key, deque())
        while entries and entries[0] <= now - self.window_s:
            entries.popleft()
        return entries

    def retry_after(self, key: str) -> float:
        """Seconds until the key's count falls below the limit; 0 when it is below now."""
        with self._lock:
            now = self.clock()
            entries = self._recent(key, now)
            if len(entries) < self.max_failures:
                if not entries:
                    del self._failures[key]  # asking must not grow memory
                return 0.0
            return entries[-self.max_failures] + self.window_s - now

    def failed(self, key: str) -> None:
        """Count one failed attempt against the key."""
        with self._lock:
            now = self.clock()
            self._recent(key, now).append(now)
            if len(self._failures) > MAX_KEYS:  # a flood of new names or addresses must not grow memory without bound
                for stale in [k for k, v in self._failures.items() if not v or v[-1] <= now - self.window_s]:
                    del self._failures[stale]

    def clear(self, key: str) -> None:
        """Forget the key's count."""
        with self._lock:
            self._failures.pop(key, None)


class LoginBrake:
    """The brake on guessing: per (account, address) pair, with ceilings per address and per account.

    ``account`` is the login's account key (``user:<name>``) or :attr:`TOKEN` for one-time token
    redemptions, which have no account to lock and are braked per pair and address only. The counts
    live in this process's memory: a restart forgets them.
    """

    TOKEN = "token"

    def __init__(
        self,
        max_failures: int = MAX_FAILURES,
        address_max_failures: int = ADDRESS_MAX_FAILURES,
        account_max_failures: int = ACCOUNT_MAX_FAILURES,
        window_s: float = WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.pairs = LoginThrottle(max_failures, window_s, clock)
        self.addresses = LoginThrottle(address_max_failures, window_s, clock)
        self.accounts = LoginThrottle(account_max_failures, window_s, clock)

    def _keys(self, account: str, address: str) -> list[tuple[LoginThrottle, str]]:
        keys = [(self.pairs, f"{account}\n{address}"), (self.addresses, address)]
        if account != self.TOKEN:
            keys.append((self.accounts, account))
        return keys

    def retry_after(self, account: str, address: str) -> float:
        """Seconds until this account may be tried from this address again; 0 when it may be tried now."""
        return max(throttle.retry_after(key) for throttle, key in self._keys(account, address))

    def failed(self, account: str, address: str) -> None:
        """Count one wrong password (or token) against the pair, the address and the account."""
        for throttle, key in self._keys(account, address):
            throttle.failed(key)

    def succeeded(self, account: str, address: str) -> None:
        """A successful login clears its pair only: an attack on the account or from the address stays counted."""
        self.pairs.clear(self._keys(account, address)[0][1])
