"""Nothing is readable without a session, every action needs its CSRF token, wrong passwords are braked and never logged."""

from __future__ import annotations

import logging
import re

import pytest

from bot.console.accounts import MAX_FAILURES, Accounts, LoginThrottle
from tests.bot.console.conftest import csrf_token, log_in
from tests.bot.console.console_seed import ADMIN, PASSWORD


def _concrete(rule: str, ids: dict[str, str]) -> str:
    values = {"number": "1", "video_id": "ct-rag-101", "escalation_id": ids["escalation"], "view": "questions", "fmt": "csv"}
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: values[m.group(1)], rule)


def test_every_page_and_action_refuses_without_a_session(app, seeded):
    _, ids = seeded
    client = app.test_client()
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("login", "login_token", "static"):
            continue
        path = _concrete(rule.rule, ids)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(path, method=method)
            assert response.status_code in (302, 403), (method, path, response.status_code)
            if response.status_code == 302:
                assert response.headers["Location"].startswith("/login"), path
            body = response.get_data(as_text=True)
            assert "exam policy" not in body and "HYPERLINK" not in body
            checked += 1
    assert checked >= 18
    assert app.extensions["course_ta_console"].escalations.get(ids["escalation"]).status == "open"


def test_session_cookie_is_httponly_and_samesite(app):
    client = app.test_client()
    response = log_in(client)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie


def test_actions_without_csrf_token_are_refused(app, seeded, wire):
    _, ids = seeded
    client = app.test_client()
    log_in(client)
    refused = client.post(f"/escalations/{ids['escalation']}/reply", data={"reply": "hello"})
    assert refused.status_code == 403
    assert client.post("/corpus/ct-rag-101/retry").status_code == 403
    assert client.post("/logout").status_code == 403
    forged = client.post(f"/escalations/{ids['escalation']}/reply", data={"reply": "hello", "csrf_token": "forged"})
    assert forged.status_code == 403
    assert app.extensions["course_ta_console"].escalations.get(ids["escalation"]).status == "open"
    assert not wire.calls_to("chat.postMessage")
    # The login form itself carries a token too.
    assert app.test_client().post("/login", data={"username": ADMIN, "password": PASSWORD}).status_code == 403


def test_wrong_passwords_are_rate_limited_and_never_logged(app, caplog):
    client = app.test_client()
    caplog.set_level(logging.DEBUG)
    wrong = "hunter2-wrong-guess"
    for _ in range(MAX_FAILURES):
        assert log_in(client, ADMIN, wrong).status_code == 401
    braked = log_in(client, ADMIN, PASSWORD)  # right password, but the brake is on
    assert braked.status_code == 429 and "Too many wrong passwords" in braked.get_data(as_text=True)
    assert client.get("/").status_code == 302
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "console login failed" in logged
    assert wrong not in logged and PASSWORD not in logged


def test_login_redirect_stays_on_this_site(app):
    client = app.test_client()
    response = client.post(
        "/login", data={"username": ADMIN, "password": PASSWORD, "next": "//evil.example/", "csrf_token": csrf_token(client)}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_one_time_token_creates_an_account_once(app):
    accounts = app.extensions["course_ta_console"].accounts
    token = accounts.create_token()
    client = app.test_client()
    form = {"token": token, "username": "ta-anna", "password": "a long enough password", "csrf_token": csrf_token(client)}
    assert client.post("/login/token", data=form).status_code == 302
    assert client.get("/").status_code == 200
    again = app.test_client()
    form["csrf_token"] = csrf_token(again)
    form["username"] = "intruder"
    assert again.post("/login/token", data=form).status_code == 400
    assert accounts.verify("ta-anna", "a long enough password") and not accounts.verify("intruder", "a long enough password")


def test_passwords_are_stored_hashed(tmp_path):
    accounts = Accounts(tmp_path / "console.sqlite")
    accounts.add("prof", "correct horse battery")
    raw = (tmp_path / "console.sqlite").read_bytes()
    assert b"correct horse battery" not in raw and b"scrypt:" in raw
    assert accounts.verify("prof", "correct horse battery") and not accounts.verify("prof", "wrong password!")
    with pytest.raises(ValueError):
        accounts.add("prof", "short")


def test_throttle_window_passes():
    now = [0.0]
    throttle = LoginThrottle(max_failures=2, window_s=60, clock=lambda: now[0])
    throttle.failed("user:a")
    throttle.failed("user:a")
    assert throttle.retry_after("user:a") == pytest.approx(60)
    now[0] = 61
    assert throttle.retry_after("user:a") == 0
