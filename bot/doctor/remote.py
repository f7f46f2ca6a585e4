"""Checks of what course-ta talks to: Slack, Discord, Elasticsearch, the Tortoise worker.

Offline by default: tokens are checked by presence and shape. ``--online`` also asks Slack who the
token belongs to (``auth.test``) and which scopes it has. Elasticsearch and the Tortoise worker are
always contacted when configured, since they are our own infrastructure.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import urlparse

from bot.doctor.result import CheckResult
from pipelines.settings import Settings

# Must match infra/slack-manifest.yml (a test keeps them equal).
REQUIRED_SLACK_SCOPES = frozenset(
    {
        "app_mentions:read",
        "channels:history",
        "groups:history",
        "im:history",
        "mpim:history",
        "chat:write",
        "assistant:write",
        "reactions:write",
        "files:write",
    }
)
START_ES = "docker compose -f infra/docker-compose.yml up -d elasticsearch"


def check_slack(settings: Settings, online: bool = False) -> CheckResult:
    """The tokens the Slack mode needs are present; ``online`` also checks them with ``auth.test`` and the granted scopes."""
    if settings.slack_bot_token is None and settings.slack_app_token is None and settings.slack_signing_secret is None:
        return CheckResult("slack", "skip", "not configured (SLACK_BOT_TOKEN unset): the Slack bot won't start")
    if settings.slack_bot_token is None:
        return CheckResult(
            "slack",
            "fail",
            "SLACK_APP_TOKEN/SLACK_SIGNING_SECRET are set but SLACK_BOT_TOKEN is not",
            "copy the Bot User OAuth Token (xoxb-…) from OAuth & Permissions into SLACK_BOT_TOKEN",
        )
    if settings.slack_mode == "socket" and settings.slack_app_token is None:
        return CheckResult(
            "slack",
            "fail",
            "Socket Mode needs SLACK_APP_TOKEN",
            "Basic Information > App-Level Tokens > Generate (scope connections:write) → SLACK_APP_TOKEN=xapp-…; or COURSE_TA_SLACK_MODE=http with SLACK_SIGNING_SECRET",
        )
    if settings.slack_mode == "http" and settings.slack_signing_secret is None:
        return CheckResult(
            "slack",
            "fail",
            "HTTP mode needs SLACK_SIGNING_SECRET",
            "Basic Information > App Credentials > Signing Secret → SLACK_SIGNING_SECRET",
        )
    detail = f"{settings.slack_mode} mode, tokens present and well-formed"
    if not online:
        return CheckResult("slack", "ok", detail + " (not contacted; --online checks auth and scopes)")
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    client = WebClient(token=settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url or WebClient.BASE_URL, timeout=10)
    try:
        response = client.auth_test()
    except SlackApiError as error:
        code = error.response.get("error", "unknown")
        return CheckResult(
            "slack",
            "fail",
            f"auth.test refused the bot token ({code})",
            "reinstall the app to the workspace (OAuth & Permissions > Reinstall) and copy the new xoxb- token into SLACK_BOT_TOKEN",
        )
    except Exception as error:  # network
        return CheckResult(
            "slack", "fail", f"cannot reach Slack: {type(error).__name__}: {error}", "check outbound HTTPS to slack.com (proxy, firewall)"
        )
    granted = {
        scope.strip()
        for scope in (response.headers.get("x-oauth-scopes") or response.headers.get("X-OAuth-Scopes") or "").split(",")
        if scope.strip()
    }
    missing = sorted(REQUIRED_SLACK_SCOPES - granted)
    if missing:
        return CheckResult(
            "slack",
            "fail",
            f"bot token lacks scopes: {', '.join(missing)}",
            "add them under OAuth & Permissions > Bot Token Scopes (or re-create the app from infra/slack-manifest.yml), then reinstall the app",
        )
    return CheckResult("slack", "ok", f"{detail}; authenticated as {response.get('user')} in {response.get('team')}, all scopes granted")


def check_discord(settings: Settings) -> CheckResult:
    """DISCORD_TOKEN has a bot token's shape and belongs to the configured application."""
    if settings.discord_token is None:
        return CheckResult("discord", "skip", "not configured (DISCORD_TOKEN unset): the Discord bot won't start")
    token = settings.discord_token.get_secret_value().strip()
    parts = token.split(".")
    user_id = ""
    if len(parts) == 3:
        try:
            user_id = base64.b64decode(parts[0] + "=" * (-len(parts[0]) % 4), validate=False).decode("ascii")
        except (binascii.Error, UnicodeDecodeError):
            user_id = ""
    if not user_id.isdigit():
        return CheckResult(
            "discord",
            "fail",
            "DISCORD_TOKEN does not look like a bot token (three dot-separated parts, the first the bot's id)",
            "Developer Portal > your app > Bot > Reset Token, and copy the whole token into DISCORD_TOKEN (not the client secret or public key)",
        )
    if settings.discord_client_id and settings.discord_client_id != user_id:
        return CheckResult(
            "discord",
            "warn",
            f"DISCORD_TOKEN belongs to application {user_id}, not COURSE_TA_DISCORD_CLIENT_ID {settings.discord_client_id}",
            "use the token and the application id of the same app",
        )
    return CheckResult(
        "discord", "ok", f"token present for application {user_id}" + ("" if settings.discord_follow_ups else "; follow-ups off")
    )


def check_elasticsearch(settings: Settings, dims: int | None = None) -> list[CheckResult]:
    """The cluster answers with a supported version and credentials, and its index matches this embedding model."""
    if not settings.elasticsearch_url:
        return [CheckResult("elasticsearch", "skip", "not configured: the embedded store is used")]
    from elastic_transport import ConnectionError as ESConnectionError
    from elastic_transport import TlsError
    from elasticsearch import ApiError, AuthenticationException, AuthorizationException

    from pipelines.stores import elasticsearch_index as es_index

    where = settings.describe_store()
    try:
        client = es_index.connect(settings.model_copy(update={"elasticsearch_max_retries": 0}))
        info = client.info()
    except TlsError as error:
        return [
            CheckResult(
                "elasticsearch",
                "fail",
                f"TLS to {where} failed: {error.message}",
                "set COURSE_TA_ELASTICSEARCH_CA_CERTS to the cluster's http_ca.crt (or COURSE_TA_ELASTICSEARCH_CA_FINGERPRINT); "
                "for a self-signed dev cluster only: COURSE_TA_ELASTICSEARCH_VERIFY_CERTS=false",
            )
        ]
    except ESConnectionError as error:
        return [
            CheckResult(
                "elasticsearch",
                "fail",
                f"cannot reach {where}: {error.message}",
                f"start it ({START_ES}) or fix COURSE_TA_ELASTICSEARCH_URL (scheme http/https and port, usually 9200)",
            )
        ]
    except AuthenticationException:
        return [
            CheckResult(
                "elasticsearch",
                "fail",
                f"{where} rejected the credentials (401)",
                "set COURSE_TA_ELASTICSEARCH_API_KEY (the 'encoded' value of POST /_security/api_key) or COURSE_TA_ELASTICSEARCH_USERNAME and _PASSWORD",
            )
        ]
    except AuthorizationException:
        return [
            CheckResult(
                "elasticsearch",
                "fail",
                f"{where}: the user may not read cluster info (403)",
                "grant the API key/user the monitor cluster privilege and all privileges on the index pattern course-ta*",
            )
        ]
    except ApiError as error:
        return [
            CheckResult(
                "elasticsearch",
                "fail",
                f"{where} answered {error.meta.status}: {error.message}",
                "check COURSE_TA_ELASTICSEARCH_URL points at Elasticsearch itself",
            )
        ]
    number = str(info["version"]["number"])
    version = es_index.parse_version(number)
    results: list[CheckResult] = []
    if version < es_index.MINIMUM_VERSION:
        return [
            CheckResult(
                "elasticsearch",
                "fail",
                f"{where} runs Elasticsearch {number}; course-ta needs 8.0 or newer",
                "upgrade the cluster to 8.12+ (infra/docker-compose.yml runs a current 8.x)",
            )
        ]
    if version < es_index.INT8_HNSW_SINCE:
        results.append(
            CheckResult(
                "elasticsearch",
                "warn",
                f"Elasticsearch {number}: vectors use plain HNSW (int8_hnsw needs 8.12+, ~4x less memory)",
                "upgrade to 8.12+ and run course-ta es reindex",
            )
        )
    else:
        results.append(CheckResult("elasticsearch", "ok", f"{where}: Elasticsearch {number}"))
    results.append(_check_index(client, settings, dims))
    return results


def _check_index(client: Any, settings: Settings, dims: int | None) -> CheckResult:
    from pipelines.stores import elasticsearch_index as es_index

    alias = settings.elasticsearch_index
    try:
        index, is_alias = es_index.resolve(client, alias)
    except LookupError:
        return CheckResult(
            "elasticsearch index",
            "warn",
            f"{alias} does not exist yet",
            "it is created on the first write: course-ta ingest PATH (or course-ta migrate --to elasticsearch)",
        )
    except es_index.ElasticsearchSetupError as error:
        return CheckResult("elasticsearch index", "fail", str(error), "course-ta es switch --to <the index to keep>")
    dims = dims if dims is not None else es_index.embedding_dimension(settings.embedding_model)
    problems = es_index.mapping_problems(client, index, settings, dims)
    if problems:
        return CheckResult(
            "elasticsearch index",
            "fail",
            f"{index}: " + "; ".join(problems),
            "rebuild the index for this model and mapping without downtime: course-ta es reindex --reembed",
        )
    count = client.count(index=index)["count"]
    if not is_alias:
        return CheckResult(
            "elasticsearch index",
            "warn",
            f"{alias} is a plain index ({count} documents), not an alias: re-indexing would need downtime",
            "course-ta es reindex (moves it behind the alias once)",
        )
    return CheckResult("elasticsearch index", "ok", f"alias {alias} -> {index}, {count} documents, mapping matches ({dims} dims)")


def check_tortoise(settings: Settings) -> list[CheckResult]:
    """The Tortoise worker answers, is ready on a GPU and knows the configured voice (a local worker also checks this GPU)."""
    if not settings.voice_enabled or "tortoise" not in settings.voice_backend_order:
        return [CheckResult("tortoise", "skip", "Tortoise is not among COURSE_TA_VOICE_BACKENDS")]
    if not settings.tortoise_url:
        return [CheckResult("tortoise", "skip", "COURSE_TA_TORTOISE_URL unset: voice falls through to the next backend")]
    import httpx

    results: list[CheckResult] = []
    host = urlparse(settings.tortoise_url).hostname or ""
    if host in ("localhost", "127.0.0.1", "::1"):
        from bot.doctor.local import check_local_gpu

        results.append(check_local_gpu())
    try:
        response = httpx.get(f"{settings.tortoise_url}/health", timeout=5.0)
        health = response.json()
    except (httpx.HTTPError, ValueError) as error:
        results.append(
            CheckResult(
                "tortoise",
                "warn",
                f"worker at {settings.tortoise_url} not reachable ({type(error).__name__}); voice falls through to the next backend",
                "start it: docker compose -f infra/docker-compose.yml --profile tortoise up -d tortoise (GPU host), or fix COURSE_TA_TORTOISE_URL",
            )
        )
        return results
    if not health.get("ready"):
        results.append(
            CheckResult(
                "tortoise",
                "warn",
                f"worker up but not ready: {health.get('reason') or 'unknown reason'}",
                "see the worker's log; a GPU host needs the NVIDIA Container Toolkit (docker run --gpus all), weights download on first start",
            )
        )
    elif health.get("device") != "cuda" and not str(health.get("device", "")).startswith("cuda"):
        results.append(
            CheckResult(
                "tortoise",
                "warn",
                f"worker runs on {health.get('device')}: minutes per sentence",
                "run the worker with a GPU (compose reserves one under the tortoise profile)",
            )
        )
    elif settings.voice_name not in health.get("voices", []):
        results.append(
            CheckResult(
                "tortoise",
                "warn",
                f"voice {settings.voice_name!r} is not registered on the worker",
                f"course-ta voice clone --name {settings.voice_name} CLIPS...",
            )
        )
    else:
        results.append(CheckResult("tortoise", "ok", f"worker ready on {health.get('device')} with voice {settings.voice_name!r}"))
    return results
