"""``course-ta course``: list, add, pause and resume the courses of a deployment (edits ``courses.toml``).

The file stays the reviewed source of truth: ``add`` validates the new course against the others
(unique id and channels) before writing, and every command edits the file in place (comments, key
order and the other courses kept byte-for-byte) and atomically.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pipelines.courses.catalog import CourseCatalog, CourseError, check_unique, load_catalog, save_catalog, validated_course
from pipelines.settings import Settings, SettingsError, load_settings


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add ``course list|add|pause|resume`` to the command line."""
    parser = subcommands.add_parser("course", help="list, add, pause or resume the courses of this deployment")
    actions = parser.add_subparsers(dest="course_action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="the courses, their data dirs, channels and policy")
    listing.set_defaults(handler=run_list)
    add = actions.add_parser("add", help="add a course to the courses file")
    add.add_argument("id", help="short id: lower-case letters, digits and - (e.g. nlp)")
    add.add_argument("--title", required=True)
    add.add_argument("--source", action="append", default=[], help="a YouTube channel/playlist URL or a folder (repeatable)")
    add.add_argument("--slack-channel", action="append", default=[], help="Slack channel id of this course (repeatable)")
    add.add_argument("--discord-channel", action="append", default=[], help="Discord channel id of this course (repeatable)")
    add.add_argument("--discord-guild", action="append", default=[], help="Discord server id of this course (repeatable)")
    add.add_argument("--voice", help="the cloned voice this course speaks with")
    add.set_defaults(handler=run_add)
    for name, paused in (("pause", True), ("resume", False)):
        toggle = actions.add_parser(name, help=f"{name} answering for a course")
        toggle.add_argument("id")
        toggle.set_defaults(handler=run_toggle, paused=paused)


def _catalog() -> tuple[CourseCatalog, Settings]:
    settings = load_settings(deployment=True)
    try:
        catalog = load_catalog(settings.courses_path if settings.courses_path.exists() else None)
    except CourseError as error:
        raise SettingsError(str(error)) from None
    return catalog, settings


def run_list(args: argparse.Namespace) -> int:
    """Print every course with where its data lives and where students ask."""
    catalog, settings = _catalog()
    if not catalog.explicit:
        print("one course (no courses file): everything uses the data dir as before; `course-ta course add ID --title T` starts a file")
        return 0
    base = settings.data_dir
    for course in catalog.courses:
        state = "paused" if course.paused else "active"
        print(f"{course.id:<16} {state:<7} {course.title}")
        print(f"    data dir: {course.data_dir(base)}")
        if course.sources:
            print(f"    sources:  {', '.join(course.sources)}")
        channels = course.slack_channels + course.discord_channels + [f"server {g}" for g in course.discord_guilds]
        if channels:
            print(f"    channels: {', '.join(channels)}")
    return 0


def run_add(args: argparse.Namespace) -> int:
    """Validate the new course against the others and write the courses file."""
    catalog, settings = _catalog()
    path = settings.courses_path
    courses = list(catalog.courses) if catalog.explicit else []
    fields = {
        "id": args.id,
        "title": args.title,
        "sources": args.source,
        "slack_channels": args.slack_channel,
        "discord_channels": args.discord_channel,
        "discord_guilds": args.discord_guild,
        "voice_name": args.voice,
    }
    try:
        course = validated_course(fields, f"course {args.id!r}")
    except CourseError as error:
        raise SettingsError(str(error)) from None
    if any(existing.id == course.id for existing in courses):
        raise SettingsError(f"course {course.id!r} already exists in {path}")
    updated = CourseCatalog(courses=[*courses, course], path=path)
    _recheck(updated, path)
    _save(updated, path)
    print(f"added course {course.id!r} to {path}; its data dir is {course.data_dir(settings.data_dir)}")
    if course.sources:
        print(f"next: course-ta add-source {course.sources[0]} --course {course.id} && course-ta sync --course {course.id}")
    return 0


def run_toggle(args: argparse.Namespace) -> int:
    """Pause or resume one course; the other courses are untouched."""
    catalog, settings = _catalog()
    path = settings.courses_path
    if not catalog.explicit:
        raise SettingsError("there is no courses file; a one-course deployment is paused by stopping `course-ta serve`")
    try:
        course = catalog.get(args.id)
    except CourseError as error:
        raise SettingsError(str(error)) from None
    courses = [c.model_copy(update={"paused": args.paused}) if c.id == course.id else c for c in catalog.courses]
    _save(CourseCatalog(courses=courses, path=path), path)
    print(f"course {course.id!r} {'paused' if args.paused else 'resumed'}")
    return 0


def _save(catalog: CourseCatalog, path: Path) -> None:
    """Edit the courses file in place (comments and untouched courses kept); a refusal is one line, exit 2."""
    try:
        save_catalog(catalog, path)
    except CourseError as error:
        raise SettingsError(str(error)) from None


def _recheck(catalog: CourseCatalog, path: Path) -> None:
    """Run the file's own checks (unique ids and channels) on the catalog about to be written."""
    try:
        check_unique(catalog.courses, path)
    except CourseError as error:
        raise SettingsError(str(error)) from None
