"""``course-ta course``: list, add, pause and resume the courses of a deployment (edits ``courses.toml``).

The file stays the reviewed source of truth: ``add`` validates the new course against the others
(unique id and channels) and its sources the way ``add-source`` does before writing, and every command
edits the file in place (comments, key order and the other courses kept byte-for-byte) and atomically.
Edits hold the file's edit lock from reading to writing, so commands run at once take turns and each
one's change lands.
"""

from __future__ import annotations

import argparse
import re
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipelines.courses.catalog import (
    Course,
    CourseCatalog,
    CourseError,
    check_unique,
    load_catalog,
    read_courses_text,
    save_catalog,
    validated_course,
)
from pipelines.courses.course_settings import catalog_of
from pipelines.courses.toml_edit import TomlEditError, edit_lock
from pipelines.settings import Settings, SettingsError, load_settings

# ``scheme://user:password@`` or ``user:password@host``: what must never be written to the file or printed.
_USERINFO = re.compile(r"^(?:[a-z][a-z0-9+.-]*://)?([^/@\s]+)@", re.IGNORECASE)


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


def _catalog(settings: Settings) -> CourseCatalog:
    """The deployment's courses as ``ask`` and ``status`` see them: a named courses file must exist."""
    try:
        return catalog_of(settings)
    except CourseError as error:
        raise SettingsError(str(error)) from None


def run_list(args: argparse.Namespace) -> int:
    """Print every course with where its data lives, where students ask and where escalations go."""
    settings = load_settings(deployment=True)
    catalog = _catalog(settings)
    if not catalog.explicit:
        print("one course (no courses file): everything uses the data dir as before; `course-ta course add ID --title T` starts a file")
        return 0
    base = settings.data_dir
    for course in catalog.courses:
        state = "paused" if course.paused else "active"
        print(f"{course.id:<16} {state:<7} {course.title}")
        print(f"    data dir: {course.data_dir(base)}")
        if course.sources:
            print(f"    sources:  {', '.join(redacted(source) for source in course.sources)}")
        channels = course.slack_channels + course.discord_channels + [f"server {g}" for g in course.discord_guilds]
        if channels:
            print(f"    channels: {', '.join(channels)}")
        ta = [f"Slack {course.ta_slack_channel}"] if course.ta_slack_channel else []
        ta += [f"Discord {course.ta_discord_channel}"] if course.ta_discord_channel else []
        if ta:
            print(f"    TA:       {', '.join(ta)}")
    return 0


def run_add(args: argparse.Namespace) -> int:
    """Validate the new course against the others and write the courses file."""
    settings = load_settings(deployment=True)
    path = settings.courses_path
    fields = {
        "id": args.id,
        "title": args.title,
        "sources": _checked_sources(args.source),
        # The same channel given twice is one channel; the file should not say it twice.
        "slack_channels": list(dict.fromkeys(args.slack_channel)),
        "discord_channels": list(dict.fromkeys(args.discord_channel)),
        "discord_guilds": list(dict.fromkeys(args.discord_guild)),
        "voice_name": args.voice,
    }
    try:
        course = validated_course(fields, f"course {args.id!r}")
    except CourseError as error:
        raise SettingsError(str(error)) from None
    with _editing(path):
        courses = _courses_to_extend(path)  # read under the lock: a course added meanwhile is kept
        if any(existing.id == course.id for existing in courses):
            raise SettingsError(f"course {course.id!r} already exists in {path}")
        updated = CourseCatalog(courses=[*courses, course], path=path)
        _recheck(updated, path)
        _save(updated, path)
    print(f"added course {course.id!r} to {path}; its data dir is {course.data_dir(settings.data_dir)}")
    if course.sources:
        print(
            f"its sources are followed by `course-ta schedule` and `serve` from their next start; to index now: "
            f"course-ta add-source {course.sources[0]} --course {course.id} && course-ta sync --course {course.id}"
        )
    return 0


def run_toggle(args: argparse.Namespace) -> int:
    """Pause or resume one course; the other courses are untouched."""
    settings = load_settings(deployment=True)
    path = settings.courses_path
    if not _catalog(settings).explicit:
        raise SettingsError("there is no courses file; a one-course deployment is paused by stopping `course-ta serve`")
    with _editing(path):
        catalog = _catalog(settings)  # read again under the lock: an edit made meanwhile is kept
        try:
            course = catalog.get(args.id)
        except CourseError as error:
            raise SettingsError(str(error)) from None
        courses = [c.model_copy(update={"paused": args.paused}) if c.id == course.id else c for c in catalog.courses]
        _save(CourseCatalog(courses=courses, path=path), path)
    print(f"course {course.id!r} {'paused' if args.paused else 'resumed'}")
    return 0


def redacted(location: str) -> str:
    """``location`` without a user name or password (``https://user:pw@host/x`` -> ``https://host/x``)."""
    match = _USERINFO.match(location)
    return location if match is None else location.replace(match.group(1) + "@", "", 1)


def _checked_sources(sources: list[str]) -> list[str]:
    """Each source as ``add-source`` would record it, refused the same way (a message never shows a password)."""
    from pipelines.corpus.sources.registry import SourceLocationError, check_location

    checked = []
    for source in sources:
        try:
            checked.append(check_location([source])[1])
        except SourceLocationError as error:
            match = _USERINFO.match(source)
            message = str(error) if match is None else str(error).replace(match.group(1) + "@", "")
            raise SettingsError(f"course add --source: {message}") from None  # the message names the source
    return list(dict.fromkeys(checked))


def _courses_to_extend(path: Path) -> list[Course]:
    """The courses already in the file; none for a missing file or one that holds only comments."""
    if not path.exists():
        return []
    try:
        text = read_courses_text(path)
        try:
            if tomllib.loads(text) == {}:  # empty, or comments only: the first course goes below them
                return []
        except tomllib.TOMLDecodeError:
            pass  # load_catalog says where the file is broken
        return list(load_catalog(path).courses)
    except CourseError as error:
        raise SettingsError(str(error)) from None


@contextmanager
def _editing(path: Path) -> Iterator[None]:
    """Hold the courses file's edit lock; a lock that stays taken is one line, exit 2."""
    try:
        with edit_lock(path):
            yield
    except TomlEditError as error:
        raise SettingsError(f"{path}: {error}") from None


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
