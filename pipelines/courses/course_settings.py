"""One course's view of the deployment's settings: its own data dir, index alias, voice and answer threshold.

Everything downstream (stores, ledger, answer log, clip cache, the scheduler) already reads these
fields, so giving each course its own copy of the settings is what keeps courses apart: a course's
query pipeline opens only that course's store.
"""

from __future__ import annotations

from typing import Any

from pipelines.courses.catalog import Course, CourseCatalog, CourseError, load_catalog
from pipelines.settings import Settings


def settings_for(base: Settings, course: Course) -> Settings:
    """``base`` with this course's data dir, index alias, voice and threshold; the default course gets ``base`` back."""
    update: dict[str, Any] = {
        "data_dir": course.data_dir(base.data_dir),
        "elasticsearch_index": course.elasticsearch_index(base.elasticsearch_index),
        "course": course.id,
    }
    if course.voice_name:
        update["voice_name"] = course.voice_name
    if course.policy.min_relevance is not None:
        update["min_relevance"] = course.policy.min_relevance
    return base.model_copy(update=update)


def catalog_of(base: Settings) -> CourseCatalog:
    """The deployment's courses (the implicit single course when there is no courses file).

    A courses file named by ``COURSE_TA_COURSES_FILE`` must exist: a typo must not quietly turn
    a multi-course deployment into one course.
    """
    if base.courses_file is not None and not base.courses_file.is_file():
        raise CourseError(f"COURSE_TA_COURSES_FILE: {base.courses_file} does not exist (or is not a file)")
    return load_catalog(base.courses_path if base.courses_file or base.courses_path.exists() else None)


def selected_course(base: Settings, catalog: CourseCatalog | None = None) -> Course:
    """The course a CLI command works on: ``--course``/``COURSE_TA_COURSE``, else the only course."""
    catalog = catalog or catalog_of(base)
    if base.course:
        return catalog.get(base.course)
    if len(catalog.courses) == 1:
        return catalog.courses[0]
    raise CourseError(f"this deployment has {len(catalog.courses)} courses; choose one with --course ({', '.join(catalog.ids())})")


def course_settings(base: Settings) -> Settings:
    """The settings of the course a CLI command works on (``base`` itself in a one-course deployment)."""
    course = selected_course(base)
    return base if course.id == "default" and not base.course else settings_for(base, course)


def explicit_course(base: Settings) -> Course | None:
    """The course a CLI command works on when the deployment has a courses file; None for the implicit single course.

    Commands that must honour a course's state (paused, limits) need the course itself, not only its
    settings, and ``base`` must be the deployment's settings (``load_settings(deployment=True)``).
    """
    catalog = catalog_of(base)
    return selected_course(base, catalog) if catalog.explicit else None
