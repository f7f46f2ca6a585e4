"""The courses one deployment serves, read from one reviewed file (``courses.toml``).

A course is a first-class thing: its id, title, sources, channels, voice and answer policy. Each
course gets its own data dir (``<data dir>/courses/<id>``: ledger, embedded store, answer log, clip
cache) and its own Elasticsearch alias (``<index>-<id>``), so a question in one course's channel can
only ever search that course's documents. Without a file the deployment is one implicit course
(``default``) that uses the data dir and index exactly as before.
"""

from __future__ import annotations

import tomllib
import unicodedata
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from pipelines.atomic_file import write_text_atomically
from pipelines.courses.toml_edit import TomlEditError, edit_tables
from pipelines.settings.validators import discord_id, shaped

DEFAULT_COURSE_ID = "default"
# A courses file holds a few tables per course: 1 MiB is thousands of courses. Anything larger is a wrong
# path or a generated file, and parsing and validating it would stall every command that reads it.
MAX_COURSES_FILE_BYTES = 1 << 20

COURSE_ID = shaped(r"[a-z0-9][a-z0-9-]{0,31}", "a course id (lower-case letters, digits and -, at most 32)")
SLACK_CHANNEL = shaped(r"[CDG][A-Z0-9]{2,20}", "a Slack channel id like C0123ABCD")


class CourseError(ValueError):
    """The courses file is missing, unreadable or invalid; the message says where and what."""


def _slack_channels(values: list[str]) -> list[str]:
    return list(dict.fromkeys(SLACK_CHANNEL(value) for value in values))  # a channel named twice is one channel


def _discord_ids(values: list[str]) -> list[str]:
    return list(dict.fromkeys(discord_id(str(value)) for value in values))


def _one_line_title(value: str) -> str:
    """A title is printed in lists and replies: blank or multi-line titles would break them."""
    if not value.strip():
        raise ValueError("a title must not be blank")
    if any(unicodedata.category(character) in ("Cc", "Zl", "Zp") for character in value):
        raise ValueError("a title is one line of text (no line breaks, tabs or control characters)")
    return value


class AnswerPolicy(BaseModel):
    """How a course wants its questions answered: what instructors ask of course bots."""

    model_config = ConfigDict(extra="forbid")

    # Named assignments/topics where the LLM explains and points to lectures but never writes the solution.
    hint_topics: list[str] = Field(default_factory=list)
    # Reply ephemerally (only the student sees it) instead of in the channel.
    private_answers: bool = False
    # Channels where every question is answered without a mention; chatter is held back by the relevance gate.
    answer_without_mention: Annotated[list[str], AfterValidator(_slack_channels)] = Field(default_factory=list)
    answer_without_mention_discord: Annotated[list[str], AfterValidator(_discord_ids)] = Field(default_factory=list)
    # The "not covered" threshold for this course (None = the deployment's COURSE_TA_MIN_RELEVANCE).
    min_relevance: float | None = Field(default=None, ge=-1.0, le=1.0)
    # Questions per minute across the whole course, and LLM tokens per UTC day (0 = unlimited).
    questions_per_minute: int = Field(default=0, ge=0, le=100_000)
    llm_daily_tokens: int = Field(default=0, ge=0)


class Course(BaseModel):
    """One course: what it is, where its lectures come from, where students ask, and how it answers."""

    model_config = ConfigDict(extra="forbid")

    id: Annotated[str, AfterValidator(COURSE_ID)]
    title: Annotated[str, AfterValidator(_one_line_title)] = Field(min_length=1, max_length=200)
    sources: list[str] = Field(default_factory=list)
    slack_channels: Annotated[list[str], AfterValidator(_slack_channels)] = Field(default_factory=list)
    discord_guilds: Annotated[list[str], AfterValidator(_discord_ids)] = Field(default_factory=list)
    discord_channels: Annotated[list[str], AfterValidator(_discord_ids)] = Field(default_factory=list)
    voice_name: Annotated[
        str | None, AfterValidator(lambda v: v if v is None else shaped(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", "a voice name")(v))
    ] = None
    ta_slack_channel: Annotated[str | None, AfterValidator(lambda v: v if v is None else SLACK_CHANNEL(v))] = None
    ta_discord_channel: Annotated[str | None, AfterValidator(lambda v: v if v is None else discord_id(v))] = None
    paused: bool = False
    policy: AnswerPolicy = Field(default_factory=AnswerPolicy)

    def data_dir(self, base: Path) -> Path:
        """This course's own data dir under the deployment's; the implicit default course keeps the base itself."""
        return base if self.id == DEFAULT_COURSE_ID else base / "courses" / self.id

    def elasticsearch_index(self, base_index: str) -> str:
        """This course's own Elasticsearch alias; the implicit default course keeps the base alias."""
        return base_index if self.id == DEFAULT_COURSE_ID else f"{base_index}-{self.id}"


class CourseCatalog(BaseModel):
    """Every course of the deployment, with the checks that keep channels from belonging to two courses."""

    courses: list[Course]
    path: Path | None = None

    @property
    def explicit(self) -> bool:
        """True when the courses come from a file, False for the implicit one-course deployment."""
        return self.path is not None

    def get(self, course_id: str) -> Course:
        """The course with this id, or :class:`CourseError` listing the known ids."""
        for course in self.courses:
            if course.id == course_id:
                return course
        known = ", ".join(course.id for course in self.courses) or "none"
        raise CourseError(f"unknown course {course_id!r} (known: {known})")

    def ids(self) -> list[str]:
        """Course ids in file order."""
        return [course.id for course in self.courses]


def implicit_catalog() -> CourseCatalog:
    """The one-course deployment with no courses file: exactly the behaviour before courses existed."""
    return CourseCatalog(courses=[Course(id=DEFAULT_COURSE_ID, title="Course")])


def load_catalog(path: Path | None) -> CourseCatalog:
    """The courses in ``path`` (TOML, ``[[course]]`` tables), or the implicit catalog when ``path`` is None or absent."""
    if path is None or not path.exists():
        return implicit_catalog()
    return parse_catalog(read_courses_text(path), path)


def parse_catalog(text: str, path: Path) -> CourseCatalog:
    """The courses in ``text``, the contents of the courses file ``path``; :class:`CourseError` as one line naming the file."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise CourseError(f"{path}: cannot read the courses file ({error})") from None
    return _validated(raw, path)


def read_courses_text(path: Path) -> str:
    """The courses file's text exactly as written (line endings kept), refusing a file over :data:`MAX_COURSES_FILE_BYTES`.

    At most one byte past the cap is read, so an oversized file is refused at once, not after loading it.
    """
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_COURSES_FILE_BYTES + 1)
    except OSError as error:
        raise CourseError(f"{path}: cannot read the courses file ({error.strerror or error})") from None
    if len(data) > MAX_COURSES_FILE_BYTES:
        size = _size(path)
        raise CourseError(
            f"{path}: the courses file is {size}, over the 1 MiB limit ({MAX_COURSES_FILE_BYTES:,} bytes); "
            "it should hold a few [[course]] tables (is this the right file?)"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise CourseError(f"{path}: cannot read the courses file (not UTF-8 text: {error.reason} at byte {error.start})") from None


def _size(path: Path) -> str:
    try:
        return f"{path.stat().st_size:,} bytes"
    except OSError:
        return "larger than that"


def _validated(raw: dict[str, Any], path: Path) -> CourseCatalog:
    unknown = set(raw) - {"course"}
    if unknown:
        raise CourseError(f"{path}: unknown top-level key(s) {sorted(unknown)}; courses are [[course]] tables")
    tables = raw.get("course", [])
    if not isinstance(tables, list) or not tables:
        raise CourseError(f"{path}: no [[course]] table; add one per course (id, title, sources, channels)")
    courses = [validated_course(table, _where(path, number, table)) for number, table in enumerate(tables, start=1)]
    check_unique(courses, path)
    return CourseCatalog(courses=courses, path=path)


def _where(path: Path, number: int, table: Any) -> str:
    """``path: course 'nlp' ([[course]] #2)`` when the table names its id, else ``path: course #2``."""
    identifier = table.get("id") if isinstance(table, dict) else None
    return (
        f"{path}: course {identifier!r} ([[course]] #{number})"
        if isinstance(identifier, str) and identifier
        else f"{path}: course #{number}"
    )


def validated_course(fields: Any, where: str) -> Course:
    """A :class:`Course` from ``fields``, or :class:`CourseError` as one line: ``where: field: problem; ...``.

    The courses file and ``course-ta course add`` report a bad value the same way, without pydantic's
    multi-line report, its error codes or its documentation links.
    """
    try:
        return Course.model_validate(fields)
    except ValidationError as error:
        raise CourseError(f"{where}: {validation_problems(error)}") from None


def validation_problems(error: ValidationError) -> str:
    """Each problem as ``field: message``, joined with ``; `` (``policy.min_relevance: ...`` for nested fields)."""
    problems = []
    for item in error.errors():
        location = ".".join(str(part) for part in item["loc"])
        message = str(item["msg"]).removeprefix("Value error, ")
        problems.append(f"{location}: {message}" if location else message)
    return "; ".join(problems)


def check_unique(courses: list[Course], path: Path | None) -> None:
    """A course id, a Slack channel or a Discord channel/guild may belong to one course only; TA channels are not students'."""
    positions: dict[str, int] = {}
    for number, course in enumerate(courses, start=1):
        if course.id in positions:
            raise CourseError(f"{path}: course id {course.id!r} is defined twice ([[course]] #{positions[course.id]} and #{number})")
        positions[course.id] = number
    seen: dict[tuple[str, str], str] = {}
    for course in courses:
        keys = [("Slack channel", channel) for channel in course.slack_channels + course.policy.answer_without_mention]
        keys += [("Discord channel", channel) for channel in course.discord_channels + course.policy.answer_without_mention_discord]
        keys += [("Discord server", guild) for guild in course.discord_guilds]
        for key in dict.fromkeys(keys):
            if key in seen:
                raise CourseError(f"{path}: {key[0]} {key[1]} is in both course {seen[key]!r} and {course.id!r}")
            seen[key] = course.id
    for course in courses:  # escalations quote a student's question and name them: they must not land where students read
        for field, kind, channel in (
            ("ta_slack_channel", "Slack channel", course.ta_slack_channel),
            ("ta_discord_channel", "Discord channel", course.ta_discord_channel),
        ):
            owner = seen.get((kind, channel)) if channel else None
            if owner is not None:
                whose = "this course" if owner == course.id else f"course {owner!r}"
                raise CourseError(
                    f"{path}: course {course.id!r}: {field} {channel} is a student channel of {whose}; escalations would be posted to students"
                )


def save_catalog(catalog: CourseCatalog, path: Path) -> None:
    """Write the courses to ``path`` atomically, editing the reviewed file in place rather than regenerating it.

    Comments, key order and every course that did not change stay byte-for-byte, so the review diff
    of ``course add`` or ``course pause`` shows that change alone. A new file gets a one-line header.
    """
    existing = read_courses_text(path) if path.exists() else None
    try:
        text = edit_tables(existing, "course", catalog.courses)
    except TomlEditError as error:
        raise CourseError(f"{path}: {error}") from None
    size = len(text.encode("utf-8"))
    if size > MAX_COURSES_FILE_BYTES:  # written, it would make every command refuse the file
        raise CourseError(
            f"{path}: the edit would make the courses file {size:,} bytes, over the 1 MiB limit ({MAX_COURSES_FILE_BYTES:,} bytes); nothing written"
        )
    try:
        write_text_atomically(path, text)
    except OSError as error:  # full disk, read-only folder: the old file is untouched
        raise CourseError(f"{path}: cannot write the courses file ({error.strerror or error}); it is unchanged") from None
