"""Edit a reviewed TOML file of ``[[tables]]`` in place, so a command's change is the only change in the diff.

Instructors annotate ``courses.toml`` (why a threshold was tuned, who asked for a pause) and keep it
under review. Re-serialising the whole file would drop those comments and reorder keys, so edits go
through tomlkit's document model: a table that did not change is left byte-for-byte, a changed value
keeps its line's comment, and new tables are appended at the end. Writes are atomic (a temporary file
in the same folder, then ``os.replace``), so a reader never sees half a file; a symlinked file keeps its
link and its target is replaced. Editors that read, change and write the file take turns under
:func:`edit_lock`, so two commands run at once both land instead of the later one undoing the earlier.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import tomlkit
from filelock import FileLock, Timeout
from pydantic import BaseModel, ValidationError
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import AoT, Array, InlineTable, Table

# A file the command creates from nothing (the existing file's header is kept as it is).
NEW_FILE_HEADER = "Courses of this deployment: one [[course]] table each (see docs/instructors.md, 'Several courses')."


# An edit holds the lock for milliseconds; one held this long belongs to a process that is stuck.
EDIT_LOCK_TIMEOUT_S = 60.0


class TomlEditError(ValueError):
    """The existing file cannot be edited in place (not TOML, or ``key`` is not a list of tables)."""


class TomlEditBusyError(TomlEditError):
    """Another process has held the file's edit lock for longer than an edit takes."""


def edit_tables(text: str | None, key: str, models: Sequence[BaseModel], id_field: str = "id") -> str:
    """``text`` with the ``[[key]]`` tables made to hold ``models`` (matched by ``id_field``), everything else kept.

    A table whose model is unchanged is not touched; a changed field is rewritten on its own line;
    tables for new models are appended in ``models`` order; tables whose id is no longer among
    ``models`` are removed. ``text`` None starts a new document.
    """
    # tomlkit writes new lines as "\n": a file saved on Windows is edited as "\n" and given its "\r\n" back.
    crlf = text is not None and "\r\n" in text
    document = _parse(text.replace("\r\n", "\n") if text is not None and crlf else text)
    if key not in document:
        document[key] = tomlkit.aot()
    container = document[key]
    if not isinstance(container, AoT | Array):
        raise TomlEditError(f"{key!r} is not a list of tables")
    wanted = {str(getattr(model, id_field)): model for model in models}
    _drop_missing(container, wanted, id_field)
    present = {str(_plain(table.get(id_field))): table for table in container}
    for identifier, model in wanted.items():
        table = present.get(identifier)
        if table is None:
            _append(document, container, model)
        else:
            _merge(table, _current(model, table), model)
    edited = document.as_string()
    return edited.replace("\n", "\r\n") if crlf else edited


def _parse(text: str | None) -> tomlkit.TOMLDocument:
    if text is None:
        document = tomlkit.document()
        document.add(tomlkit.comment(NEW_FILE_HEADER))
        return document
    try:
        return tomlkit.parse(text)
    except TOMLKitError as error:
        raise TomlEditError(f"cannot parse the file to edit it ({error})") from None


def _plain(value: Any) -> Any:
    """The plain Python value of a tomlkit item (items compare by value, but ids must hash as str)."""
    return value.unwrap() if hasattr(value, "unwrap") else value


def _drop_missing(container: AoT | Array, wanted: Mapping[str, BaseModel], id_field: str) -> None:
    for index in reversed(range(len(container))):
        if str(_plain(container[index].get(id_field))) not in wanted:
            del container[index]


def _current(model: BaseModel, table: MutableMapping[str, Any]) -> BaseModel | None:
    """What the file holds now, validated the same way, so ``123`` and ``"123"`` count as the same channel id."""
    try:
        return type(model).model_validate(_plain(table))
    except ValidationError:
        return None  # hand-edited since it was read: every field is written from the model


def _merge(table: MutableMapping[str, Any], current: BaseModel | None, desired: BaseModel) -> None:
    """Rewrite only the fields whose validated value differs; a field set back to None is removed."""
    inline = isinstance(table, InlineTable)
    for name in type(desired).model_fields:
        new = getattr(desired, name)
        if current is not None and getattr(current, name) == new:
            continue
        if new is None:
            if name in table:
                del table[name]
        elif isinstance(new, BaseModel) and isinstance(table.get(name), Table | InlineTable):
            _merge(table[name], getattr(current, name) if current is not None else None, new)
        elif isinstance(new, BaseModel):
            _put(table, name, _table(new.model_dump(mode="json", exclude_defaults=True), inline))
        else:
            _put(table, name, desired.model_dump(mode="json", include={name})[name])


def _put(table: MutableMapping[str, Any], name: str, value: Any) -> None:
    """Set ``name``; a new key goes after the table's last key, not after the comments that introduce what follows.

    tomlkit appends at the end of the table's body, which holds the blank lines and comments written
    above the next table header (``# Tuned after the midterm`` above ``[course.policy]``): a key added
    there would slide under a comment about something else.
    """
    if name in table or not isinstance(table, Table):
        table[name] = value
        return
    body = table.value.body
    is_table = isinstance(value, Table)
    # Keys must precede the table's subtables; a subtable may follow anything that is not a comment or a blank line.
    content = [index for index, (key, item) in enumerate(body) if key is not None and (is_table or not isinstance(item, Table | AoT))]
    if is_table:
        value.trivia.indent = "\n"  # a blank line above the new header, as a person would write it
    after = content[-1] + 1 if content else 0
    if after == len(body):
        table[name] = value
    else:
        table.value._insert_at(after, name, value)  # tomlkit has no public insert; pinned in infra/constraints.txt


def _append(document: tomlkit.TOMLDocument, container: AoT | Array, model: BaseModel) -> None:
    values = model.model_dump(mode="json", exclude_defaults=True)
    if isinstance(container, Array):
        container.append(_table(values, inline=True))
        return
    table = _table(values, inline=False)
    # One blank line between the file as it is and the new table, however the file ends.
    written = document.as_string()
    table.trivia.indent = "" if not written or written.endswith("\n\n") else ("\n" if written.endswith("\n") else "\n\n")
    container.append(table)


def _table(values: Mapping[str, Any], inline: bool) -> Table | InlineTable:
    table: Table | InlineTable = tomlkit.inline_table() if inline else tomlkit.table()
    for name, value in values.items():
        table[name] = _table(value, inline) if isinstance(value, Mapping) else value
    return table


def real_path(path: Path) -> Path:
    """The file ``path`` names once symlinks are followed: the one to lock and replace, so a link stays a link."""
    return Path(os.path.realpath(path))


def lock_path(path: Path) -> Path:
    """The lock file beside the (symlink-resolved) file, shared by every name that leads to it."""
    target = real_path(path)
    return target.parent / f".{target.name}.lock"


# flock excludes other open files, threads of this process included; this lock makes them queue instead of polling.
_THREADS = threading.Lock()


def _write_pid(descriptor: int) -> None:
    os.ftruncate(descriptor, 0)
    os.pwrite(descriptor, f"{os.getpid()}\n".encode("ascii"), 0)


@contextmanager
def edit_lock(path: Path, timeout: float = EDIT_LOCK_TIMEOUT_S) -> Iterator[None]:
    """Hold the file's inter-process edit lock for the body: read the file, change it and write it inside.

    The lock is an OS file lock (``filelock``) on a hidden file beside the target (it stays, empty but
    for the holder's pid, because removing it would let two editors lock different files); the kernel
    releases it when its holder dies. Raises :class:`TomlEditBusyError` after ``timeout`` seconds.
    """
    lock_file = lock_path(path)
    try:
        lock_file.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:  # a folder that is a file, a read-only or full disk: one line, not a traceback
        raise TomlEditError(f"cannot create the folder for its edit lock ({error.strerror or error})") from None
    if not _THREADS.acquire(timeout=timeout):
        raise TomlEditBusyError(f"another edit of {real_path(path)} in this process has run for over {timeout:.0f}s")
    try:
        lock = FileLock(lock_file, thread_local=False, preserve_lock_file=True, on_acquired=_write_pid)
        try:
            lock.acquire(timeout=timeout)
        except Timeout:
            raise TomlEditBusyError(
                f"another command (pid {_holder(lock_file)}) has been editing {real_path(path)} for over {timeout:.0f}s; "
                "try again when it is done"
            ) from None
        except OSError as error:
            raise TomlEditError(f"cannot take its edit lock {lock_file} ({error.strerror or error})") from None
        try:
            yield
        finally:
            lock.release()
    finally:
        _THREADS.release()


def _holder(lock_file: Path) -> str:
    try:
        return lock_file.read_text(encoding="ascii").strip() or "unknown"
    except OSError:
        return "unknown"
