"""The README and docs/ stay navigable and true to the code: links resolve, named paths, commands and settings exist."""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path

import pytest

from bot.cli.main import build_parser
from pipelines.settings import ENV_PREFIX, Settings
from pipelines.settings.validators import variable_names

REPO = Path(__file__).resolve().parents[2]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
FENCE = re.compile(r"^```.*?^```[ \t]*$", flags=re.M | re.S)
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
INLINE_CODE = re.compile(r"`([^`\n]+)`")
# Paths the pages name that are not in the repository on purpose: made by the user or by a run.
NOT_IN_REPO = {"infra/.env", "benchmarks/results/"}


def _prose(text: str) -> str:
    """The page without its fenced code blocks (a `# comment` in a block is not a heading)."""
    return FENCE.sub("", text)


def _code(text: str) -> list[str]:
    """Every line of code on the page: fenced blocks and inline code spans."""
    blocks = [line for block in FENCE.findall(text) for line in block.splitlines()[1:-1]]
    return blocks + INLINE_CODE.findall(_prose(text))


def _anchors(page: Path) -> set[str]:
    """The fragment ids GitHub gives the page's headings (lower case, punctuation dropped, dashes, -N for repeats)."""
    seen: dict[str, int] = {}
    anchors = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*$", _prose(page.read_text()), flags=re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def test_pages_exist() -> None:
    assert {p.name for p in PAGES} >= {"README.md", "students.md", "instructors.md", "operators.md", "developers.md", "benchmarks.md"}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_resolves(page: Path) -> None:
    broken = []
    for target in LINK.findall(_prose(page.read_text())):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):
            continue  # https:, mailto:: not ours to check offline
        path, _, fragment = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.is_relative_to(REPO):
            broken.append(f"{target}: outside the repository")
        elif not resolved.exists():
            broken.append(f"{target}: no such file")
        elif fragment and resolved.suffix == ".md" and fragment not in _anchors(resolved):
            broken.append(f"{target}: no heading with that anchor in {resolved.relative_to(REPO)}")
    assert not broken, f"{page.relative_to(REPO)}: {broken}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_repository_path_named_exists(page: Path) -> None:
    named = set()
    for span in INLINE_CODE.findall(_prose(page.read_text())):
        named |= set(re.findall(r"(?<![\w./$-])((?:bot|pipelines|voice|infra|tests|benchmarks|docs)/[\w./-]*)", span))
    missing = sorted(p for p in named if p not in NOT_IN_REPO and not p.startswith("benchmarks/results/") and not (REPO / p).exists())
    assert not missing, f"{page.relative_to(REPO)} names files that are not in the repository: {missing}"


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _options(parser: argparse.ArgumentParser) -> set[str]:
    return {option for action in parser._actions for option in action.option_strings}


@pytest.fixture(scope="module")
def commands() -> dict[str, argparse.ArgumentParser]:
    """Every `course-ta` command line the parser accepts, by name (`es reindex`, `ask`, ...)."""
    found = {}
    for name, sub in _subparsers(build_parser()).items():
        found[name] = sub
        for nested, nested_parser in _subparsers(sub).items():
            found[f"{name} {nested}"] = nested_parser
    return found


def _invocations(text: str) -> list[list[str]]:
    """The words after each `course-ta` in the page's code, up to a comment or the end of the line."""
    found = []
    for line in _code(text):
        for match in re.finditer(r"(?:^|[\s/])course-ta ([^#\n]*)", line):
            try:
                words = shlex.split(match.group(1).rstrip("\\ "))
            except ValueError:
                words = match.group(1).split()
            if words:
                found.append(words)
    return found


def test_every_command_in_the_docs_exists_with_its_options(commands: dict[str, argparse.ArgumentParser]) -> None:
    wrong = []
    for page in PAGES:
        for words in _invocations(page.read_text()):
            name = words[0]
            if name not in commands:
                wrong.append(f"{page.name}: course-ta {' '.join(words)}: no command {name!r}")
                continue
            if len(words) > 1 and _subparsers(commands[name]):
                name = f"{name} {words[1]}"
                if name not in commands:
                    wrong.append(f"{page.name}: course-ta {' '.join(words)}: no command {name!r}")
                    continue
            unknown = [w.split("=")[0] for w in words if w.startswith("--") and w.split("=")[0] not in _options(commands[name])]
            if unknown:
                wrong.append(f"{page.name}: course-ta {' '.join(words)}: {name!r} has no option {unknown}")
    assert not wrong, wrong


def test_every_command_is_documented(commands: dict[str, argparse.ArgumentParser]) -> None:
    documented = set()
    for page in PAGES:
        for words in _invocations(page.read_text()):
            documented |= {words[0], " ".join(words[:2])}
    assert not set(commands) - documented, f"commands no page shows: {sorted(set(commands) - documented)}"


def test_every_setting_the_docs_name_is_read_by_the_app() -> None:
    known = set().union(*(variable_names(name, info) for name, info in Settings.model_fields.items()))
    known |= set(re.findall(r"(?<!\$)\$\{([A-Z][A-Z0-9_]*)", (REPO / "infra" / "docker-compose.yml").read_text()))
    stray = {}
    for page in PAGES:
        names = set(re.findall(rf"\b{ENV_PREFIX}[A-Z0-9_]*[A-Z0-9]\b(?![*_<…])", page.read_text()))
        if names - known:
            stray[page.name] = sorted(names - known)
    assert not stray, f"the docs name variables the app does not read: {stray}"


def test_readme_gives_the_two_commands_ci_runs() -> None:
    readme = (REPO / "README.md").read_text()
    blocks = [block.splitlines()[1:-1] for block in FENCE.findall(readme) if block.startswith("```bash")]
    assert blocks[:2] == [
        ["bash infra/install.sh && .venv/bin/course-ta demo"],
        ["bash infra/install.sh --test && .venv/bin/python -m pytest"],
    ]
    ci = (REPO / ".ci" / "run").read_text().splitlines()
    assert "bash infra/install.sh --test" in ci and ".venv/bin/python -m pytest" in ci
    assert ci.index("bash infra/install.sh --test") < ci.index(".venv/bin/python -m pytest")
