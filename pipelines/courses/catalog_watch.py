"""Noticing that the courses file changed under a running process, and reading it again only then.

A running ``serve`` must follow ``course-ta course pause`` and hand edits of ``courses.toml`` without a
restart, yet the question path must not parse TOML for every message: the file is looked at (one
``stat``) at most every few seconds and read only when its identity, size or times changed. An edit
that leaves the file invalid (or removes it) keeps the last good courses and is reported once, as
one line naming the file and the problem; a deployment never drops to no courses.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from pipelines.courses.catalog import Course, CourseCatalog, CourseError, parse_catalog, read_courses_text

logger = logging.getLogger(__name__)

# How often the question path may look at the courses file: a pause takes effect within this many seconds.
RECHECK_S = 5.0
# A file changed this recently can change again within the file system's timestamp granularity without
# its stat changing (same size, same inode after an in-place write); until it is older, its text is compared too.
RACY_S = 2.0

_Stamp = tuple[int, int, int, int, int]


def _stamp(path: Path) -> tuple[_Stamp, bool]:
    """What identifies this version of the file without reading it, and whether it is too fresh to trust that."""
    info = os.stat(path)
    stamp = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
    return stamp, time.time() - info.st_mtime < RACY_S


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class CatalogWatch:
    """The courses of one courses file as it is now: :meth:`poll` returns new courses once the file changed into valid ones.

    Thread-safe; a poll that finds another thread already looking returns at once instead of waiting.
    """

    def __init__(self, catalog: CourseCatalog, *, every_s: float = RECHECK_S, clock: Callable[[], float] = time.monotonic) -> None:
        if catalog.path is None:
            raise ValueError("only courses read from a courses file can be watched")
        self.path = catalog.path
        self.catalog = catalog
        self._every_s = every_s
        self._clock = clock
        self._due = clock() + every_s
        self._lock = threading.Lock()
        self._stamp: _Stamp | None = None
        self._racy = True
        self._digest: str | None = None
        self._reported: str | None = None
        self._seen = False  # a file that never existed is not "gone" (courses given in code for a file not written yet)
        try:
            self._stamp, self._racy = _stamp(self.path)
            self._seen = True
            self._digest = _digest(read_courses_text(self.path))
        except (OSError, CourseError):
            pass  # not there (yet) or unreadable: the first poll that can read it decides

    def poll(self, *, force: bool = False) -> CourseCatalog | None:
        """The courses as the file now says, when they differ from the last ones; None when not due, unchanged or invalid.

        Without ``force`` the file is looked at only every ``every_s`` seconds of ``clock``.
        """
        if not force and self._clock() < self._due:
            return None
        if not self._lock.acquire(blocking=force):
            return None
        try:
            self._due = self._clock() + self._every_s
            return self._check()
        finally:
            self._lock.release()

    def _check(self) -> CourseCatalog | None:
        try:
            stamp, racy = _stamp(self.path)
        except OSError as error:
            self._stamp = None
            if self._seen:
                self._trouble(f"{self.path}: cannot see the courses file ({error.strerror or error})")
            return None
        self._seen = True
        if stamp == self._stamp and not self._racy:
            return None
        self._stamp, self._racy = stamp, racy
        try:
            text = read_courses_text(self.path)
            digest = _digest(text)
            if digest == self._digest:
                self._recovered()
                return None
            catalog = parse_catalog(text, self.path)
        except CourseError as error:
            self._trouble(str(error))
            return None
        old, self.catalog, self._digest = self.catalog, catalog, digest
        self._recovered()
        logger.info("%s: courses file changed, now serving it: %s", self.path, "; ".join(changes(old, catalog)) or "no course changed")
        return catalog

    def _trouble(self, problem: str) -> None:
        if problem != self._reported:  # one line per problem, not one per poll
            self._reported = problem
            courses = ", ".join(self.catalog.ids())
            logger.error("%s; still serving the last good courses (%s) until the file is fixed", problem, courses)

    def _recovered(self) -> None:
        if self._reported is not None:
            self._reported = None
            logger.info("%s: the courses file is valid again", self.path)


def changes(old: CourseCatalog, new: CourseCatalog) -> list[str]:
    """What an operator reads when the courses changed: ``nlp paused``, ``vision added``, ``math changed``, ``bio removed``."""
    before = {course.id: course for course in old.courses}
    after = {course.id: course for course in new.courses}
    said = []
    for course_id, course in after.items():
        was = before.get(course_id)
        if was is None:
            said.append(f"{course_id} added" + (" (paused)" if course.paused else ""))
        elif was != course:
            said.append(f"{course_id} {_how(was, course)}")
    said += [f"{course_id} removed" for course_id in before if course_id not in after]
    return said


def _how(was: Course, now: Course) -> str:
    if was.paused != now.paused and was.model_copy(update={"paused": now.paused}) == now:
        return "paused" if now.paused else "resumed"
    return "changed"
