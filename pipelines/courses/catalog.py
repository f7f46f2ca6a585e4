"""The courses one deployment serves, read from one reviewed file (``courses.toml``).

A course is a first-class thing: its id, title, sources, channels, voice and answer policy. Each
course gets its own data dir (``<data dir>/courses/<id>``: ledger, embedded store, answer log, clip
cache) and its own Elasticsearch alias (``<index>-<id>``), so a question in one course's channel can
only ever search that course's documents. Without a file the deployment is one implicit course
(``default``) that uses the data dir and index exactly as before.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any

import tomli_w
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from pipelines.settings.validators import discord_id, shaped

DEFAULT_COURSE_ID = "default"

COURSE_ID = shaped(r"[a-z0-9][a-z0-9-]{0,31}", "a course id (lower-case letters, digits and -, at most 32)")
SLACK_CHANNEL = shaped(r"[CDG][A-Z0-9]{2,20}", "a Slack channel id like C0123ABCD")


class CourseError(ValueError):
    """The courses file is missing, unreadable or invalid; the message says where and what."""


def _slack_channels(values: list[str]) -> list[str]:
    return [SLACK_CHANNEL(value) for value in values]


def _discord_ids(values: list[str]) -> list[str]:
    return [discord_id(str(value)) for value in values]


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
    title: str = Field(min_length=1, max_length=200)
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
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise CourseError(f"{path}: cannot read the courses file ({error})") from None
    return _validated(raw, path)


def _validated(raw: dict[str, Any], path: Path) -> CourseCatalog:
    unknown = set(raw) - {"course"}
    if unknown:
        raise CourseError(f"{path}: unknown top-level key(s) {sorted(unknown)}; courses are [[course]] tables")
    tables = raw.get("course", [])
    if not isinstance(tables, list) or not tables:
        raise CourseError(f"{path}: no [[course]] table; add one per course (id, title, sources, channels)")
    courses = []
    for number, table in enumerate(tables, start=1):
        try:
            courses.append(Course.model_validate(table))
        except ValidationError as error:
            problems = "; ".join(f"{'.'.join(str(p) for p in item['loc'])}: {item['msg']}" for item in error.errors())
            raise CourseError(f"{path}: course #{number}: {problems}") from None
    check_unique(courses, path)
    return CourseCatalog(courses=courses, path=path)


def check_unique(courses: list[Course], path: Path | None) -> None:
    """A course id, a Slack channel or a Discord channel/guild may belong to one course only."""
    seen: dict[tuple[str, str], str] = {}
    for course in courses:
        keys = [("course id", course.id)]
        keys += [("Slack channel", channel) for channel in course.slack_channels + course.policy.answer_without_mention]
        keys += [("Discord channel", channel) for channel in course.discord_channels + course.policy.answer_without_mention_discord]
        keys += [("Discord server", guild) for guild in course.discord_guilds]
        for key in dict.fromkeys(keys):
            if key in seen:
                raise CourseError(f"{path}: {key[0]} {key[1]} is in both course {seen[key]!r} and {course.id!r}")
            seen[key] = course.id


def save_catalog(catalog: CourseCatalog, path: Path) -> None:
    """Write the courses back as TOML (atomically), so ``course-ta course add`` edits the same reviewed file."""
    tables = [course.model_dump(mode="json", exclude_none=True) for course in catalog.courses]
    text = tomli_w.dumps({"course": tables})
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)
