"""The console's Flask app: login, the pages, their charts and exports, and the two actions (reply to an escalation, retry a video).

Security, in one place: every endpoint but the login form and the stylesheet/script needs a
logged-in instructor (pages redirect to the login, everything else answers 403); every POST carries
Flask-WTF's CSRF token; the session cookie is signed, HttpOnly and SameSite=Strict; wrong passwords
are braked per (account, address) pair, with ceilings per address and per account
(``bot/console/accounts.py``); pages are served with a Content-Security-Policy that allows only the
console's own files; Jinja escapes every value, and every SQL statement takes its values as
parameters. Passwords are never logged: only the account name and address of a failed login are.

Behind a reverse proxy, the client's address and scheme come from ``X-Forwarded-For``/``-Proto`` only
when ``COURSE_TA_CONSOLE_TRUSTED_PROXIES`` says how many proxies append them (werkzeug's
``ProxyFix``); otherwise those headers are ignored, since anyone can send them.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, Response, abort, flash, g, has_request_context, redirect, render_template, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from bot.answering.escalations import RESOLVED, EscalationLog
from bot.answering.feedback import write_csv
from bot.answering.privacy import Pseudonyms, apply_retention
from bot.console import charts, data
from bot.console.accounts import AccountError, Accounts, LoginBrake
from bot.console.corpus import Retrier, corpus_view
from bot.console.gaps import GapCluster, GapFinder, index_moment_finder, project_embedder
from bot.console.relay import Relay, RelayError, relays_from_settings
from pipelines.domain import deep_link, format_timestamp
from pipelines.settings import Settings

logger = logging.getLogger(__name__)

PUBLIC_ENDPOINTS = frozenset({"login", "login_token", "static"})
EXPORT_VIEWS = ("overview", "questions", "gaps", "moments", "corpus", "escalations")
EXPORT_FORMATS = ("csv", "jsonl")
DEFAULT_DAYS = 30
ALL_COURSES = "*"
SYNC_CLUSTER_LIMIT = 1500  # a first clustering of up to this many questions runs while the page waits; the rest in the background
RETENTION_EVERY_S = 3600.0
MAX_REPLY = 3000


def console_dir(settings: Settings) -> Path:
    """``DATA_DIR/console``: accounts and the session key (owner-only)."""
    return settings.data_dir / "console"


def session_key(settings: Settings) -> str:
    """``COURSE_TA_CONSOLE_SECRET``, else a random key made once and kept in ``DATA_DIR/console/session.key``."""
    if settings.console_secret is not None:
        return settings.console_secret.get_secret_value()
    path = console_dir(settings) / "session.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secrets.token_hex(32))
    return path.read_text().strip()


@dataclass
class GapState:
    """The last clustering and whether a newer one is being computed."""

    version: tuple[Any, ...] | None = None
    clusters: list[GapCluster] = field(default_factory=list)
    questions: int = 0
    running: bool = False
    error: str | None = None
    computed_at: float | None = None


class Console:
    """What the pages share: settings, stores of record, caches and the background work."""

    def __init__(
        self,
        settings: Settings,
        *,
        relays: dict[str, Relay] | None = None,
        gap_finder: GapFinder | None = None,
        retrier: Retrier | None = None,
        brake: LoginBrake | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.log_path = settings.feedback_db_path
        self.accounts = Accounts(console_dir(settings) / "console.sqlite")
        self.brake = brake or LoginBrake()
        self.warned_forwarded = False
        self.escalations = EscalationLog(self.log_path)
        self.pseudonyms = Pseudonyms(settings.data_dir)
        self.relays = relays if relays is not None else relays_from_settings(settings)
        self.retrier = retrier or Retrier(settings)
        self._gap_finder = gap_finder
        self.gaps = GapState()
        self._gap_lock = threading.Lock()
        self._cache: dict[tuple[Any, ...], tuple[Any, tuple[Any, ...]]] = {}
        self._refreshing: set[tuple[Any, ...]] = set()
        self._cache_lock = threading.Lock()
        self._retention_at = float("-inf")
        self._catalog: Any = None

    # -- caching -----------------------------------------------------------------------------------
    def cached(self, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        """``compute()``'s value for the answer log as it is, computed once per change of the log.

        When the log changed since the last computation, the previous value is answered at once and
        a fresh one is computed in the background (at most one per key at a time), so pages stay fast
        while questions keep arriving: a page may show figures as old as one refresh. Only a key never
        computed before is computed while the request waits.
        """
        version = data.data_version(self.log_path)
        with self._cache_lock:
            entry = self._cache.get(key)
            if entry is not None and (entry[1] == version or key in self._refreshing):
                return entry[0]
            if entry is not None:
                self._refreshing.add(key)
        if entry is not None:
            threading.Thread(target=self._refresh, args=(key, version, compute), name="console-refresh", daemon=True).start()
            return entry[0]
        value = compute()
        with self._cache_lock:
            self._cache[key] = (value, version)
        return value

    def _refresh(self, key: tuple[Any, ...], version: tuple[Any, ...], compute: Callable[[], Any]) -> None:
        try:
            value = compute()
            with self._cache_lock:
                self._cache[key] = (value, version)
        except Exception:  # the previous figures stay; the next request tries again
            logger.exception("refreshing %s failed", key[0])
        finally:
            with self._cache_lock:
                self._refreshing.discard(key)

    # -- retention ---------------------------------------------------------------------------------
    def retention_due(self) -> None:
        """Apply the retention period at most once an hour (the console is the process instructors keep running)."""
        now = self.clock()
        if now - self._retention_at < RETENTION_EVERY_S:
            return
        self._retention_at = now
        removed = apply_retention(self.log_path, self.pseudonyms, self.settings.console_retention_days, now)
        if removed.total:
            logger.info("retention: blanked %s", removed.counts)

    # -- coverage gaps -----------------------------------------------------------------------------
    def gap_finder(self) -> GapFinder:
        """The clustering with the project's embedder and the index (loaded on first use)."""
        if self._gap_finder is None:
            from pipelines.search.embedders import embedding_space

            embed = project_embedder(self.settings)
            self._gap_finder = GapFinder(embed, index_moment_finder(self.settings, embed), space=embedding_space(self.settings))
        return self._gap_finder

    def gap_state(self) -> GapState:
        """The clusters for the current log; small logs are clustered now, large ones in the background."""
        version = data.data_version(self.log_path)
        with self._gap_lock:
            if self.gaps.version == version or self.gaps.running:
                return self.gaps
            self.gaps.running = True
            first = self.gaps.version is None
        if first and len(questions := data.gap_questions(self.log_path)) <= SYNC_CLUSTER_LIMIT:
            self._cluster(version, questions)  # nothing to show yet and little to do: the request waits
        else:  # the previous clusters stay on the page until the new ones are ready
            threading.Thread(target=self._cluster, args=(version, None), name="console-gaps", daemon=True).start()
        return self.gaps

    def _cluster(self, version: tuple[Any, ...], questions: list[data.GapQuestion] | None) -> None:
        try:
            if questions is None:
                questions = data.gap_questions(self.log_path)
            clusters = self.gap_finder().clusters(questions)
            error = None
        except Exception as failure:  # the page says clustering failed; the log has the trace
            logger.exception("clustering the coverage gaps failed")
            clusters, error = [], f"{type(failure).__name__}: {failure}"
        with self._gap_lock:
            self.gaps = GapState(version, clusters, len(questions or ()), False, error, self.clock())

    # -- corpus -----------------------------------------------------------------------------------
    def summary(self, video_id: str) -> Any:
        """The video's summary and salient points (stored, or extracted from its chunks), or None."""
        from pipelines.search.video_catalog import UnknownVideo, VideoCatalog
        from pipelines.stores.document_store import open_store

        if self._catalog is None:
            self._catalog = VideoCatalog(open_store(self.settings).store, settings=self.settings)
        try:
            return self._catalog.summary(self._catalog.resolve(video_id))
        except UnknownVideo:
            return None


class _SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the cookie marked Secure whenever the request came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        """Secure when configured so or when this request is HTTPS (directly, or as a trusted proxy reports it)."""
        return bool(super().get_cookie_secure(app) or (has_request_context() and request.is_secure))


def create_app(settings: Settings, **options: Any) -> Flask:
    """The console app over ``settings``' data dir; ``options`` go to :class:`Console` (tests pass relays)."""
    app = Flask(__name__)
    if settings.console_trusted_proxies:
        proxies = settings.console_trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]
    app.session_interface = _SessionInterface()
    app.config.update(
        SECRET_KEY=session_key(settings),
        SESSION_COOKIE_NAME="course_ta_console",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=False,  # served on localhost over HTTP; Secure per request when it came over HTTPS
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        # Over HTTPS Flask-WTF would also demand a Referer naming this host, which our no-referrer policy
        # withholds and a proxy that rewrites Host would fail; the token and the SameSite=Strict cookie remain.
        WTF_CSRF_SSL_STRICT=False,
        MAX_CONTENT_LENGTH=64 * 1024,
    )
    CSRFProtect(app)
    app.jinja_env.filters.update(timestamp=format_timestamp, datetime=_local_time, at=deep_link)
    console = Console(settings, **options)
    console.retention_due()  # at start, then at most hourly from requests
    app.extensions["course_ta_console"] = console
    _guard(app, console)
    _login_routes(app, console)
    _page_routes(app, console)
    _action_routes(app, console)
    _export_routes(app, console)
    return app


def _guard(app: Flask, console: Console) -> None:
    @app.before_request
    def require_login() -> Any:
        if not console.settings.console_trusted_proxies and not console.warned_forwarded and "X-Forwarded-For" in request.headers:
            console.warned_forwarded = True  # once per process: it is a configuration matter, not an event
            logger.warning(
                "console: requests carry X-Forwarded-For but COURSE_TA_CONSOLE_TRUSTED_PROXIES is 0, so the header is ignored"
                " and every client behind the proxy shares its address; set it to the number of proxies in front"
            )
        g.user = session.get("user")
        if request.endpoint in PUBLIC_ENDPOINTS:
            return None
        if not g.user:
            if request.method == "GET" and request.endpoint in PAGE_ENDPOINTS:
                return redirect(url_for("login", next=request.full_path.rstrip("?")))
            abort(403)
        console.retention_due()
        return None

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self'; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        if request.endpoint != "static":
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.errorhandler(CSRFError)
    def csrf_refused(error: CSRFError) -> tuple[str, int]:
        return render_template(
            "error.html", title="Refused", message="The form was missing its security token. Reload the page and try again."
        ), 403

    @app.errorhandler(403)
    def forbidden(error: Any) -> tuple[str, int]:
        return render_template("error.html", title="Forbidden", message="Log in to the console first."), 403


PAGE_ENDPOINTS = frozenset({"overview", "gaps", "gap", "moments", "moment", "corpus", "video", "escalations", "escalation"})


def _client_address() -> str:
    """The client's address: the socket's peer, or what the trusted proxies forwarded (see ``ProxyFix``)."""
    return request.remote_addr or "?"


def _account_key(username: str) -> str:
    return "user:" + username.lower()[:100]  # no account name is longer than 64; a long one must not cost memory


def _braked(what: str, wait: float) -> tuple[str, int, dict[str, str]]:
    seconds = int(wait) + 1
    return (
        render_template("login.html", error=f"Too many wrong {what}. Try again in {seconds} s.", next=""),
        429,
        {"Retry-After": str(seconds)},
    )


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("overview")


def _login_routes(app: Flask, console: Console) -> None:
    @app.route("/login", methods=["GET", "POST"])
    def login() -> Any:
        if request.method == "GET":
            return render_template("login.html", next=request.args.get("next", ""), first=console.accounts.count() == 0)
        username = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        account, address = _account_key(username), _client_address()
        wait = console.brake.retry_after(account, address)
        if wait > 0:
            logger.warning("console login for %r from %s refused: too many wrong passwords", username, address)
            return _braked("passwords", wait)
        if not console.accounts.verify(username, password):
            console.brake.failed(account, address)
            logger.warning("console login failed for %r from %s", username, address)
            return render_template("login.html", error="Wrong user name or password.", next=request.form.get("next", "")), 401
        console.brake.succeeded(account, address)
        _start_session(username)
        return redirect(_safe_next(request.form.get("next")))

    @app.post("/login/token")
    def login_token() -> Any:
        address = _client_address()
        wait = console.brake.retry_after(LoginBrake.TOKEN, address)
        if wait > 0:
            return _braked("tokens", wait)
        username = request.form.get("username", "").strip()
        try:
            console.accounts.redeem(request.form.get("token", ""), username, request.form.get("password", ""))
        except AccountError as error:
            console.brake.failed(LoginBrake.TOKEN, address)
            return render_template("login.html", token_error=str(error), next="", first=True), 400
        logger.info("console account %r set up with a one-time token", username)
        _start_session(username)
        return redirect(url_for("overview"))

    @app.post("/logout")
    def logout() -> Any:
        session.clear()
        return redirect(url_for("login"))


def _start_session(username: str) -> None:
    session.clear()  # a new session on login: nothing set before it carries over
    session["user"] = username
    session.permanent = True


def _days() -> int:
    try:
        days = int(request.args.get("days", DEFAULT_DAYS))
    except ValueError:
        days = DEFAULT_DAYS
    return min(max(days, 1), 3650)


def _course() -> str | None:
    """The ``course`` filter of the overview (None: every course; '' selects rows logged without a course)."""
    course = request.args.get("course")
    return course[:200] if course is not None and course != ALL_COURSES else None


def _svg(text: str) -> Response:
    return Response(text, mimetype="image/svg+xml")


def _page_routes(app: Flask, console: Console) -> None:
    @app.get("/")
    def overview() -> Any:
        days, course = _days(), _course()
        figures = console.cached(("overview", days, course), lambda: data.overview(console.log_path, days, console.clock(), course))
        open_escalations = sum(1 for e in console.escalations.list() if e.status != RESOLVED) if console.log_path.exists() else 0
        return render_template("overview.html", o=figures, days=days, open_escalations=open_escalations, all_courses=ALL_COURSES)

    @app.get("/charts/overview.svg")
    def overview_chart() -> Any:
        days, course = _days(), _course()
        return _svg(
            console.cached(
                ("overview.svg", days, course),
                lambda: charts.overview_chart(data.overview(console.log_path, days, console.clock(), course)),
            )
        )

    @app.get("/gaps")
    def gaps() -> Any:
        state = console.gap_state()
        return render_template("gaps.html", state=state)

    @app.get("/gaps/<int:number>")
    def gap(number: int) -> Any:
        state = console.gap_state()
        found = next((c for c in state.clusters if c.number == number), None)
        if found is None:
            abort(404)
        return render_template("gap.html", cluster=found, state=state)

    @app.get("/charts/gaps.svg")
    def gaps_chart() -> Any:
        state = console.gap_state()
        return _svg(
            console.cached(
                ("gaps.svg", state.version), lambda: charts.gaps_chart([c.label for c in state.clusters], [c.count for c in state.clusters])
            )
        )

    @app.get("/moments")
    def moments() -> Any:
        videos = console.cached(("moments",), lambda: data.cited_videos(console.log_path))
        return render_template("moments.html", videos=videos)

    @app.get("/moments/<video_id>")
    def moment(video_id: str) -> Any:
        videos = console.cached(("moment", video_id), lambda: data.cited_videos(console.log_path, 1, 25, video_id=video_id))
        if not videos:
            abort(404)
        return render_template("moment.html", video=videos[0])

    @app.get("/charts/moments.svg")
    def moments_chart() -> Any:
        video_id = request.args.get("video")
        if video_id:
            return _svg(
                console.cached(("moment.svg", video_id), lambda: charts.moments_chart(data.cited_videos(console.log_path, 1, 0, video_id)))
            )
        return _svg(console.cached(("moments.svg",), lambda: charts.moments_chart(data.cited_videos(console.log_path))))

    @app.get("/corpus")
    def corpus() -> Any:
        return render_template("corpus.html", view=corpus_view(console.settings), retrier=console.retrier)

    @app.get("/corpus/<video_id>")
    def video(video_id: str) -> Any:
        view = corpus_view(console.settings)
        row = next((v for v in view.videos if v.video_id == video_id), None)
        summary = console.summary(video_id)
        if row is None and summary is None:
            abort(404)
        return render_template("video.html", row=row, summary=summary, video_id=video_id, retrier=console.retrier)

    @app.get("/charts/corpus.svg")
    def corpus_chart() -> Any:
        counts = corpus_view(console.settings).counts
        key = tuple(sorted((stage, tuple(sorted(by_status.items()))) for stage, by_status in counts.items()))
        return _svg(console.cached(("corpus.svg", key), lambda: charts.stage_chart(counts)))

    @app.get("/escalations")
    def escalations() -> Any:
        rows = console.escalations.list() if console.log_path.exists() else []
        return render_template("escalations.html", rows=rows, pseudonym=console.pseudonyms, relays=console.relays)

    @app.get("/escalations/<escalation_id>")
    def escalation(escalation_id: str) -> Any:
        found = console.escalations.get(escalation_id) if console.log_path.exists() else None
        if found is None:
            abort(404)
        return render_template("escalation.html", e=found, can_relay=found.platform in console.relays)

    @app.get("/charts/escalations.svg")
    def escalations_chart() -> Any:
        days = _days()
        return _svg(
            console.cached(
                ("escalations.svg", days),
                lambda: charts.escalations_chart(data.escalations_per_day(console.log_path, days, console.clock())),
            )
        )


def _action_routes(app: Flask, console: Console) -> None:
    @app.post("/escalations/<escalation_id>/reply")
    def reply(escalation_id: str) -> Any:
        found = console.escalations.get(escalation_id) if console.log_path.exists() else None
        if found is None:
            abort(404)
        text = request.form.get("reply", "").strip()
        if not text or len(text) > MAX_REPLY:
            flash(f"Write a reply of 1-{MAX_REPLY} characters.", "error")
            return redirect(url_for("escalation", escalation_id=escalation_id))
        relay = console.relays.get(found.platform)
        if relay is None:
            flash(f"No {found.platform} credentials are configured, so the reply cannot be delivered.", "error")
            return redirect(url_for("escalation", escalation_id=escalation_id))
        try:
            relay.send(found, text)
        except RelayError as error:
            console.escalations.fail(found.id, text, str(error))
            flash(str(error), "error")
            return redirect(url_for("escalation", escalation_id=escalation_id))
        console.escalations.resolve(found.id, text, str(g.user))
        logger.info("escalation %s answered by %s", found.id, g.user)
        flash("Reply delivered to the student's thread; the escalation is resolved.", "ok")
        return redirect(url_for("escalations"))

    @app.post("/corpus/<video_id>/retry")
    def retry(video_id: str) -> Any:
        if not any(v.video_id == video_id for v in corpus_view(console.settings).videos):
            abort(404)
        if console.retrier.request(video_id):
            flash(f"Retrying {video_id} in the background; reload to see the outcome.", "ok")
        else:
            flash(f"Another retry ({console.retrier.busy}) is still running; try again when it is done.", "error")
        return redirect(url_for("corpus"))


def _export_rows(console: Console, view: str) -> tuple[list[str], list[dict[str, Any]]]:
    pseudonym = console.pseudonyms
    if view == "overview":
        course = _course()
        figures = data.overview(console.log_path, _days(), console.clock(), course)
        votes = {row["day"]: row for row in figures.votes_per_day}
        rows = [
            {**row, "course": course, "up": votes.get(row["day"], {}).get("up", 0), "down": votes.get(row["day"], {}).get("down", 0)}
            for row in figures.per_day
        ]
        return ["day", "course", "platform", "answered", "not_covered", "up", "down"], rows
    if view == "questions":
        since = console.clock() - _days() * data.DAY_S
        rows = [
            {**row, "student": pseudonym(row["student"]), "created_at": _iso(row["created_at"])}
            for row in data.logged_questions(console.log_path, since)
        ]
        columns = ["answer_id", "platform", "course", "student", "question", "answer", "grounded", "created_at", "latency_s", "up", "down"]
        return columns, rows
    if view == "gaps":
        rows = []
        for cluster in console.gap_state().clusters:
            moment = cluster.moment
            for question, asked in cluster.questions:
                rows.append(
                    {
                        "cluster": cluster.number,
                        "label": cluster.label,
                        "cluster_size": cluster.count,
                        "question": question,
                        "times_asked": asked,
                        "closest_video": moment.title if moment else "",
                        "closest_second": moment.start_s if moment else None,
                        "closest_link": moment.url if moment else "",
                    }
                )
        return ["cluster", "label", "cluster_size", "question", "times_asked", "closest_video", "closest_second", "closest_link"], rows
    if view == "moments":
        rows = []
        for video in data.cited_videos(console.log_path):
            rows += [
                {"video_id": video.video_id, "title": video.title, "kind": "moment", "second": s, "text": "", "count": n}
                for s, n in video.moments
            ]
            rows += [
                {"video_id": video.video_id, "title": video.title, "kind": "question", "second": None, "text": q, "count": n}
                for q, n in video.top_questions
            ]
        return ["video_id", "title", "kind", "second", "text", "count"], rows
    if view == "corpus":
        corpus = corpus_view(console.settings)
        from pipelines.freshness.ledger import STAGES

        rows = [
            {
                "video_id": v.video_id,
                "title": v.title,
                "url": v.url,
                "source_id": v.source_id,
                "stage": v.stage,
                **{stage: v.stages.get(stage, "") for stage in STAGES},
                "failure": "; ".join(f"{f.stage}: {f.last_error}" for f in v.failures),
            }
            for v in corpus.videos
        ]
        return ["video_id", "title", "url", "source_id", "stage", *STAGES, "failure"], rows
    rows = [
        {
            **e.to_dict(),
            "user": pseudonym(e.user),
            "created_at": _iso(e.created_at),
            "resolved_at": _iso(e.resolved_at) if e.resolved_at else None,
        }
        for e in (console.escalations.list(limit=100_000) if console.log_path.exists() else [])
    ]
    columns = [
        "id",
        "platform",
        "course",
        "status",
        "user",
        "question",
        "answer",
        "ta_reply",
        "resolved_by",
        "error",
        "created_at",
        "resolved_at",
    ]
    return columns, rows


def _local_time(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(seconds))


def _iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _export_routes(app: Flask, console: Console) -> None:
    @app.get("/export/<view>.<fmt>")
    def export(view: str, fmt: str) -> Any:
        if view not in EXPORT_VIEWS or fmt not in EXPORT_FORMATS:
            abort(404)
        columns, rows = _export_rows(console, view)
        if fmt == "csv":
            body, mimetype = write_csv(rows, columns), "text/csv; charset=utf-8"
        else:
            body = "".join(json.dumps({c: row.get(c) for c in columns}, ensure_ascii=False) + "\n" for row in rows)
            mimetype = "application/x-ndjson; charset=utf-8"
        name = f"course-ta-{view}.{fmt}"
        return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})
