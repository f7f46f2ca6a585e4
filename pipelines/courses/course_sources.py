"""A course's ``sources`` in ``courses.toml`` are what its scheduler follows: listing a source there is enough.

Each listed location is checked exactly as ``course-ta add-source`` checks what it is given and
recorded as a scheduled source in the course's own ledger, so the scheduler polls it like one added
by hand. A location that cannot be followed is one log line naming the course and the problem, and
the course's other sources go on. Taking a source out of the file does not remove it (that would
delete its videos from the index): ``course-ta remove-source --course ID`` does that.
"""

from __future__ import annotations

import logging
from pathlib import Path

from pipelines.corpus.sources.registry import SourceLocationError, check_location, kind_of, without_credentials
from pipelines.corpus.sources.video_ref import LOCAL
from pipelines.courses.catalog import Course
from pipelines.freshness.ledger import Ledger, Source, source_id_for

logger = logging.getLogger(__name__)


def follow_listed_sources(course: Course, ledger: Ledger, courses_file: Path | None = None) -> list[Source]:
    """Record every source listed for ``course`` as scheduled in ``ledger`` (the course's own); the sources recorded.

    A relative folder is taken relative to the courses file's folder (``courses_file``), not to
    wherever the service happened to be started. A source already there stays as it is.
    """
    followed = []
    for listed in course.sources:
        try:
            kind, location = check_location([_anchored(listed, courses_file)])
        except SourceLocationError as error:
            shown = without_credentials(listed)  # a hand-written URL may carry a password: never log it
            logger.warning("course %s: source %r listed in %s is skipped: %s", course.id, shown, courses_file or "the courses file", error)
            continue
        known = ledger.source(source_id_for(kind, location))
        source = ledger.add_source(kind, location)
        if known is None or not known.scheduled:
            logger.info("course %s: following %s source %s: %s", course.id, source.kind, source.source_id, source.location)
        followed.append(source)
    return followed


def _anchored(location: str, courses_file: Path | None) -> str:
    """``location`` with a relative folder made relative to the courses file (URLs, absolute and ``~`` paths unchanged)."""
    text = location.strip()
    if courses_file is None or not text or kind_of(text) != LOCAL or text.startswith("~") or Path(text).is_absolute():
        return location
    return str(courses_file.parent / text)
