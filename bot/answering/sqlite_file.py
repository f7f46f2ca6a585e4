"""Where the bot's SQLite files used to find :class:`SqliteFile`; it now lives in :mod:`pipelines.sqlite_file` (courses use it too)."""

from pipelines.sqlite_file import SqliteFile

__all__ = ["SqliteFile"]
