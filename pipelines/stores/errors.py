"""Errors a document store raises that a user can act on, so every command can explain them in one line.

The CLI turns any ``StoreError`` into its message and exit status 2 instead of a traceback; the message
already says what to do (wait, start the server, rebuild the index).
"""

from __future__ import annotations


class StoreError(RuntimeError):
    """A store problem with a fix the user can apply; ``str(error)`` is that explanation."""


class StoreCorruptError(StoreError):
    """The saved index on disk cannot be read back (truncated, altered or not an index)."""


class StoreBusyError(StoreError):
    """Another process holds the index for writing and did not release it in time."""


class StoreUnavailableError(StoreError):
    """The store's server cannot be reached (Elasticsearch down, wrong URL, refused credentials)."""


class StoreWriteError(StoreError):
    """The index could not be written (disk full, folder not writable); the previous index is left intact."""
