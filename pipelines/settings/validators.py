"""The checks every settings concern shares: one per kind of value, each failing with a message that says what is wrong.

A check is a plain function from the parsed value to the normalised value; fields attach it with
``AfterValidator`` (or ``BeforeValidator``) in their ``Annotated`` type, and ``load_settings`` puts the
variable's name in front of the message. Numeric ranges are pydantic ``Field`` bounds (``ge``/``le``/``gt``),
whose messages already state the limit, so there is no separate check for numbers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, SecretStr
from pydantic.fields import FieldInfo

ENV_PREFIX = "COURSE_TA_"

Check = Callable[[str], str]


def variable_name(field: str) -> str:
    """The environment variable a field is read from, as every message names it."""
    return f"{ENV_PREFIX}{field.upper()}"


def variable_names(field: str, info: FieldInfo) -> set[str]:
    """Every environment variable a field is read from: its prefixed name and any alias (``SLACK_BOT_TOKEN``…)."""
    names = {variable_name(field)}
    if isinstance(info.validation_alias, AliasChoices):
        names |= {choice.upper() for choice in info.validation_alias.choices if isinstance(choice, str) and choice != field}
    return names


def unset_if_blank(value: Any) -> Any:
    """Blank means unset, so an empty ``NAME=`` line in ``.env`` behaves like no line (run before parsing)."""
    return None if isinstance(value, str) and not value.strip() else value


def optional(check: Check) -> Callable[[str | None], str | None]:
    """Run ``check`` on a value that may be left unset (missing or blank); surrounding spaces are dropped."""

    def run(value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return check(value.strip())

    return run


def http_url(*, trailing_slash: bool = False) -> Check:
    """An http(s) base URL, normalised to end without a slash, or with exactly one for clients that append paths."""

    def check(value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/") + ("/" if trailing_slash else "")

    return check


def one_of(*allowed: str, case: Literal["lower", "upper"] | None = None) -> Check:
    """One name from a fixed set; ``case`` makes the match case-insensitive and normalises to that case."""
    choices = " or ".join(allowed) if len(allowed) == 2 else "one of " + ", ".join(allowed)

    def check(value: str) -> str:
        normalised = value.lower() if case == "lower" else value.upper() if case == "upper" else value
        if normalised not in allowed:
            raise ValueError(f"must be {choices} (got {value!r})")
        return normalised

    return check


def shaped(pattern: str, what: str) -> Check:
    """A value of a fixed textual shape (the whole value must match ``pattern``); ``what`` describes it to a person."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(f"{value!r} is not {what}")
        return value

    return check


def comma_list(item: Check, *, describe: str, required: bool = False, unique: bool = False) -> Check:
    """A comma-separated list, each entry checked by ``item``; normalised to ``a,b,c`` without spaces or empty entries."""

    def check(value: str) -> str:
        entries = [item(part.strip()) for part in value.split(",") if part.strip()]
        if required and not entries:
            raise ValueError(f"must be a comma-separated list of {describe} (got {value!r})")
        if unique:
            seen: set[str] = set()
            for entry in entries:
                if entry in seen:
                    raise ValueError(f"names {entry!r} twice ({value!r})")
                seen.add(entry)
        return ",".join(entries)

    return check


def discord_id(value: str) -> str:
    """A Discord id (snowflake): digits only, 17-20 of them in practice, and it fits in 64 bits."""
    if not value.isdigit() or not 15 <= len(value) <= 20 or int(value) >= 2**64:
        raise ValueError(f"{value!r} is not a Discord id (copy it with Developer Mode: 15-20 digits)")
    return value


def elasticsearch_index_name(value: str) -> str:
    """A name Elasticsearch accepts for an index or alias: lowercase, without spaces or the characters it forbids."""
    if not value or value != value.lower() or any(c in value for c in ' "*\\<|,>/?#:'):
        raise ValueError('must be a lowercase Elasticsearch index name without spaces or \\/*?"<>|,#:')
    return value


def secret(*, prefix: str = "", min_length: int = 0, problem: str = "") -> Callable[[SecretStr | None], SecretStr | None]:
    """A token, key or password: blank means unset, spaces around it are dropped, and a wrong shape fails with
    ``problem``, which names the variable but never the value."""

    def check(value: SecretStr | None) -> SecretStr | None:
        text = value.get_secret_value().strip() if value is not None else ""
        if not text:
            return None
        if not text.startswith(prefix) or len(text) < min_length:
            raise ValueError(problem)
        return SecretStr(text)

    return check


def existing_file(what: str) -> Callable[[Path | None], Path | None]:
    """A path that must name an existing file when it is set (``what`` names the file in the message)."""

    def check(value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"no such {what}: {value}")
        return value

    return check


def model_name_or_dir(what: str) -> Check:
    """A model given by hub name, or by a local folder (``/``, ``./`` or ``~``) that must exist; ``~`` is expanded."""

    def check(value: str) -> str:
        value = value.strip()
        if value.startswith(("/", "./", "~")) and not Path(value).expanduser().is_dir():
            raise ValueError(f"no such {what}: {value}")
        return str(Path(value).expanduser()) if value.startswith("~") else value

    return check
