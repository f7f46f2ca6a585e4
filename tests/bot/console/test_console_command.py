"""`course-ta console` as an operator starts it: a proxy count that is an address is explained, and trusting
forwarded addresses while listening beyond this machine is warned about at start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli.main import main

REPO = Path(__file__).resolve().parents[3]


def _start_console(tmp_path: Path, host: str, proxies: str) -> list[str]:
    """The first two lines the console prints on start (the address, then the account hint or the warning)."""
    env = {**os.environ, "COURSE_TA_DATA_DIR": str(tmp_path / "data"), "COURSE_TA_CONSOLE_TRUSTED_PROXIES": proxies}
    env["PYTHONPATH"] = str(REPO)
    code = "import sys; from bot.cli.main import main; raise SystemExit(main(sys.argv[1:]))"
    process = subprocess.Popen(
        [sys.executable, "-c", code, "console", "--host", host, "--port", "0"], cwd=REPO, env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stderr is not None
        return [process.stderr.readline().strip() for _ in range(2)]
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.timeout(120)
def test_trusting_a_proxy_while_listening_on_every_interface_is_warned_about(tmp_path: Path) -> None:
    lines = _start_console(tmp_path, "0.0.0.0", "1")
    assert lines[0].startswith("course-ta: instructor console at")
    assert "warning: COURSE_TA_CONSOLE_TRUSTED_PROXIES=1 while listening on 0.0.0.0" in lines[1]


@pytest.mark.timeout(120)
def test_behind_a_proxy_on_loopback_there_is_no_warning(tmp_path: Path) -> None:
    lines = _start_console(tmp_path, "127.0.0.1", "1")
    assert lines[0].startswith("course-ta: instructor console at")
    assert "warning" not in lines[1] and "no instructor account yet" in lines[1]


def test_an_address_given_as_the_proxy_count_is_explained(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COURSE_TA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COURSE_TA_CONSOLE_TRUSTED_PROXIES", "127.0.0.1")
    assert main(["console", "--create-admin"]) == 2
    err = capsys.readouterr().err
    assert "number of reverse proxies in front of the console (0-10), not an address" in err
    assert err.count("\n") == 1  # one line, no traceback
