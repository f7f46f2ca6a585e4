"""`course-ta doctor` against real components present and missing on this machine and local servers."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.doctor import local, remote
from pipelines.settings import load_settings
from pipelines.stores import elasticsearch_index as es_index
from tests.fakes.elasticsearch_wire import Cluster, WireServer
from tests.fakes.local_http import LocalHTTPServer

DISCORD_LIKE = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789AB"  # id 123456789012345678


def test_ffmpeg_present_and_missing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    if shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None:
        pytest.skip("ffmpeg is not installed here")
    assert local.check_ffmpeg(load_settings()).status == "ok"
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty PATH: the tools are really not found
    result = local.check_ffmpeg(load_settings())
    assert result.status == "fail" and "ffmpeg and ffprobe not found" in result.detail and "apt-get install -y ffmpeg" in result.fix


def test_model_paths(tmp_path: Path) -> None:
    assert local.check_whisper_model(load_settings()).status == "ok"  # the bundled tiny.en
    empty = tmp_path / "whisper"
    empty.mkdir()
    result = local.check_whisper_model(load_settings(whisper_model=str(empty)))
    assert result.status == "fail" and "no model.bin" in result.detail
    assert local.check_whisper_model(load_settings(whisper_model="large-v3")).status == "warn"

    assert local.check_piper_voice(load_settings()).status == "ok"  # the bundled voice
    onnx = tmp_path / "voice.onnx"
    onnx.write_bytes(b"not really")
    result = local.check_piper_voice(load_settings(piper_voice=str(onnx)))
    assert result.status == "fail" and "voice.onnx.json is missing" in result.detail
    assert local.check_piper_voice(load_settings(voice_backends="elevenlabs")).status == "skip"

    result = local.check_embedding_model(load_settings(embedding_model=str(tmp_path / "no-such-model")))
    assert result.status == "fail" and "does not exist" in result.detail
    broken = tmp_path / "broken-model"
    broken.mkdir()
    (broken / "modules.json").write_text("[]")
    assert local.check_embedding_model(load_settings(embedding_model=str(broken))).status == "fail"


def test_tokens_by_presence_and_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    assert remote.check_slack(load_settings()).status == "skip"
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1-2-abc")
    result = remote.check_slack(load_settings())
    assert result.status == "fail" and "SLACK_APP_TOKEN" in result.detail and "connections:write" in result.fix
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1-A-1-abc")
    assert remote.check_slack(load_settings()).status == "ok"
    result = remote.check_slack(load_settings(slack_mode="http"))
    assert result.status == "fail" and "SLACK_SIGNING_SECRET" in result.detail

    assert remote.check_discord(load_settings()).status == "skip"
    monkeypatch.setenv("DISCORD_TOKEN", "the-client-secret-by-mistake")
    assert remote.check_discord(load_settings()).status == "fail"
    monkeypatch.setenv("DISCORD_TOKEN", DISCORD_LIKE)
    assert remote.check_discord(load_settings()).detail == "token present for application 123456789012345678"
    assert remote.check_discord(load_settings(discord_client_id="223456789012345678")).status == "warn"


class _SlackAuth(BaseHTTPRequestHandler):
    scopes = ""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        ok = self.headers.get("Authorization") == "Bearer xoxb-1-2-good"
        body = json.dumps({"ok": True, "team": "Course", "user": "course-ta"} if ok else {"ok": False, "error": "invalid_auth"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("x-oauth-scopes", self.scopes)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def slack_api() -> Iterator[str]:
    with LocalHTTPServer(_SlackAuth) as server:
        yield f"{server.url}/api/"


def test_slack_online_checks_auth_and_scopes(monkeypatch: pytest.MonkeyPatch, slack_api: str) -> None:
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1-A-1-abc")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1-2-revoked")
    result = remote.check_slack(load_settings(slack_api_url=slack_api), online=True)
    assert result.status == "fail" and "invalid_auth" in result.detail
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1-2-good")
    _SlackAuth.scopes = "app_mentions:read,chat:write,channels:history"
    result = remote.check_slack(load_settings(slack_api_url=slack_api), online=True)
    assert result.status == "fail" and "files:write" in result.detail and "reactions:write" in result.detail
    _SlackAuth.scopes = ",".join(sorted(remote.REQUIRED_SLACK_SCOPES))
    assert remote.check_slack(load_settings(slack_api_url=slack_api), online=True).status == "ok"


def test_required_slack_scopes_match_the_manifest() -> None:
    import yaml

    manifest = yaml.safe_load((Path(__file__).resolve().parents[3] / "infra" / "slack-manifest.yml").read_text())
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == remote.REQUIRED_SLACK_SCOPES


def test_elasticsearch_checks(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    (result,) = remote.check_elasticsearch(load_settings(elasticsearch_url=f"http://127.0.0.1:{closed}"))
    assert result.status == "fail" and "cannot reach" in result.detail and "docker compose" in result.fix
    with WireServer(Cluster(version="7.17.9")) as es:
        (result,) = remote.check_elasticsearch(load_settings(elasticsearch_url=es.url))
        assert result.status == "fail" and "7.17.9" in result.detail
    with WireServer(Cluster(password="pw-1234")) as es:
        (result,) = remote.check_elasticsearch(load_settings(elasticsearch_url=es.url))
        assert result.status == "fail" and "401" in result.detail and "API_KEY" in result.fix
    with WireServer(Cluster(version="8.15.0")) as es:
        settings = load_settings(elasticsearch_url=es.url, elasticsearch_index="course")
        server, index = remote.check_elasticsearch(settings, dims=384)
        assert server.status == "ok" and "8.15.0" in server.detail
        assert index.status == "warn" and "does not exist yet" in index.detail
        client = es_index.connect(settings)
        wrong = es_index.IndexLayout(dims=768, embedding_model="old/model", server_version=(8, 15))
        es_index.switch_alias(client, "course", es_index.create_physical_index(client, "course", wrong))
        _, index = remote.check_elasticsearch(settings, dims=384)
        assert index.status == "fail" and "dims is 768" in index.detail and index.fix.endswith("course-ta es reindex --reembed")
        es_index.switch_alias(
            client, "course", es_index.create_physical_index(client, "course", es_index.layout_for(settings, (8, 15), dims=384))
        )
        _, index = remote.check_elasticsearch(settings, dims=384)
        assert index.status == "ok" and "mapping matches" in index.detail


def test_tortoise_worker_not_ready_and_unreachable(tmp_path: Path) -> None:
    from aiohttp import web

    from voice.tortoise_worker.engine import TortoiseEngine
    from voice.tortoise_worker.server import create_app

    engine = TortoiseEngine(tmp_path / "voices")
    engine.load()  # tortoise-tts is not installed here: the real worker reports why it is not ready
    if engine.ready:
        pytest.skip("tortoise-tts is installed here")
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(create_app(engine))
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = site._server.sockets[0].getsockname()[1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        results = remote.check_tortoise(load_settings(tortoise_url=f"http://127.0.0.1:{port}"))
        names = {r.name: r for r in results}
        assert names["tortoise"].status == "warn" and "tortoise-tts is not installed" in names["tortoise"].detail
        # A local worker URL also checks this host's GPU: ok naming the device where torch sees CUDA, else a warning.
        import torch

        if torch.cuda.is_available():
            assert names["gpu"].status == "ok" and torch.cuda.get_device_name(0) in names["gpu"].detail
        else:
            assert names["gpu"].status == "warn" and "no CUDA GPU" in names["gpu"].detail and "COURSE_TA_TORTOISE_URL" in names["gpu"].fix
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
    (result,) = remote.check_tortoise(load_settings(tortoise_url="http://127.0.0.1:9"))[-1:]
    assert result.status == "warn" and "not reachable" in result.detail
    assert remote.check_tortoise(load_settings())[0].status == "skip"


def test_threshold_check_names_its_source_and_a_stale_calibration(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from pipelines.search.calibration import Calibration
    from pipelines.search.offline_answerer import RELEVANCE_SCORING

    monkeypatch.setenv("COURSE_TA_DATA_DIR", str(tmp_path))
    settings = load_settings()
    assert "default" in local.check_relevance_threshold(settings).detail
    Calibration(0.5, 0.9, 0.96, 0.7, 200, 20, embedding_model=settings.embedding_model).save(tmp_path)
    older = local.check_relevance_threshold(load_settings())
    assert older.status == "warn" and "older relevance score" in older.detail and "--calibrate" in older.fix
    Calibration(0.5, 0.9, 0.96, 0.7, 200, 20, embedding_model=settings.embedding_model, scoring=RELEVANCE_SCORING).save(tmp_path)
    calibrated = local.check_relevance_threshold(load_settings())
    assert calibrated.status == "ok" and calibrated.detail.startswith("0.5 (calibrated")
    switched = local.check_relevance_threshold(load_settings(embedding_model=str(tmp_path / "my-model")))
    assert switched.status == "warn" and "another embedding model" in switched.detail and "--calibrate" in switched.fix
    monkeypatch.setenv("COURSE_TA_MIN_RELEVANCE", "0.3")
    assert local.check_relevance_threshold(load_settings()).detail == "0.3 (set by COURSE_TA_MIN_RELEVANCE)"


def _tools_on_path(folder: Path, *names: str) -> str:
    """A PATH holding only ``names`` as executables (doctor checks that the tools are there, not what they do)."""
    folder.mkdir()
    for name in names:
        tool = folder / name
        tool.write_text("#!/bin/sh\nexit 0\n")
        tool.chmod(0o755)
    return str(folder)


def test_doctor_cli_exit_codes_and_json(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", _tools_on_path(tmp_path / "with-ffmpeg", "ffmpeg", "ffprobe"))
    assert main(["doctor", "--skip-models"]) == 0
    out = capsys.readouterr().out
    assert "ok   ffmpeg:" in out and "FAIL" not in out

    monkeypatch.setenv("PATH", _tools_on_path(tmp_path / "without-ffmpeg"))
    assert main(["doctor", "--skip-models"]) == 1, "a missing ffmpeg blocks"
    out = capsys.readouterr().out
    assert "FAIL ffmpeg: ffmpeg and ffprobe not found on PATH" in out and "     fix: apt-get install -y ffmpeg" in out

    monkeypatch.setenv("PATH", _tools_on_path(tmp_path / "again", "ffmpeg", "ffprobe"))
    monkeypatch.setenv("COURSE_TA_ELASTICSEARCH_URL", "http://127.0.0.1:9")
    assert main(["doctor", "--skip-models", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False
    assert any(c["name"] == "elasticsearch" and c["status"] == "fail" for c in report["checks"])
    monkeypatch.setenv("COURSE_TA_TOP_K", "zero")
    assert main(["doctor"]) == 2
    assert "COURSE_TA_TOP_K" in capsys.readouterr().out
