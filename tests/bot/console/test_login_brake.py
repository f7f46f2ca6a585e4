"""Wrong passwords are braked per (account, address) pair, with a higher ceiling per address and per account.

The client address is the socket's peer unless the operator says how many reverse proxies stand in
front (``COURSE_TA_CONSOLE_TRUSTED_PROXIES``); only then does ``X-Forwarded-For``/``-Proto`` count.
Every test drives the real Flask app through its test client; the proxy is played by the
``REMOTE_ADDR`` every request arrives from plus the headers a proxy would append.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from bot.console.accounts import ACCOUNT_MAX_FAILURES, ADDRESS_MAX_FAILURES, MAX_FAILURES, WINDOW_S, LoginBrake
from pipelines.settings import SettingsError, load_settings
from tests.bot.console.conftest import csrf_token, log_in
from tests.bot.console.console_seed import ADMIN, PASSWORD

PROXY = "127.0.0.1"  # behind a reverse proxy on the same host, every request comes from here
ATTACKER, INSTRUCTOR = "203.0.113.7", "198.51.100.20"
WRONG = "not-the-password"


def _via_proxy(client_address: str, proto: str = "http") -> dict[str, Any]:
    """What a request looks like after one proxy: the proxy's socket, the client in X-Forwarded-For."""
    return {"environ_base": {"REMOTE_ADDR": PROXY}, "headers": {"X-Forwarded-For": client_address, "X-Forwarded-Proto": proto}}


@pytest.fixture
def proxied_app(make_app, seeded):
    settings, _ = seeded
    return make_app(load_settings(data_dir=settings.data_dir, console_trusted_proxies=1))


def _failures_logged(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("console login failed")]


def test_wrong_passwords_from_one_forwarded_address_leave_the_account_open_from_another(proxied_app, caplog):
    caplog.set_level(logging.INFO)
    attacker = proxied_app.test_client()
    for _ in range(MAX_FAILURES):
        assert log_in(attacker, ADMIN, WRONG, **_via_proxy(ATTACKER)).status_code == 401
    assert log_in(attacker, ADMIN, PASSWORD, **_via_proxy(ATTACKER)).status_code == 429  # that pair is braked

    instructor = proxied_app.test_client()
    assert log_in(instructor, **_via_proxy(INSTRUCTOR)).status_code == 302
    assert instructor.get("/", **_via_proxy(INSTRUCTOR)).status_code == 200
    # The log names the client the proxy forwarded for, not the proxy.
    failures = _failures_logged(caplog)
    assert len(failures) == MAX_FAILURES and all(f"from {ATTACKER}" in line for line in failures)


def test_forged_forwarded_headers_are_ignored_without_a_trusted_proxy(app, caplog):
    caplog.set_level(logging.INFO)
    direct = "192.0.2.9"
    attacker = app.test_client()
    for n in range(MAX_FAILURES):  # a new forged address each time must not reset the brake
        forged = {"X-Forwarded-For": f"198.51.100.{n}", "X-Forwarded-Proto": "https"}
        assert log_in(attacker, ADMIN, WRONG, environ_base={"REMOTE_ADDR": direct}, headers=forged).status_code == 401
    braked = log_in(attacker, ADMIN, PASSWORD, environ_base={"REMOTE_ADDR": direct}, headers={"X-Forwarded-For": "198.51.100.99"})
    assert braked.status_code == 429

    # The brake is on that address's tries at that account: the instructor elsewhere still gets in,
    # and the forged https did not make the session cookie Secure-only (it was not served over https).
    instructor = app.test_client()
    response = log_in(instructor, environ_base={"REMOTE_ADDR": "192.0.2.50"}, headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == 302 and "Secure" not in response.headers["Set-Cookie"]
    failures = _failures_logged(caplog)
    assert len(failures) == MAX_FAILURES and all(line.endswith(f"from {direct}") for line in failures)
    warnings = [r.getMessage() for r in caplog.records if "X-Forwarded-For" in r.getMessage()]
    assert len(warnings) == 1 and "COURSE_TA_CONSOLE_TRUSTED_PROXIES" in warnings[0]  # said once, not per request


def test_one_address_spraying_many_accounts_hits_the_address_ceiling(proxied_app):
    assert ADDRESS_MAX_FAILURES > MAX_FAILURES
    sprayer = proxied_app.test_client()
    for n in range(ADDRESS_MAX_FAILURES):  # one guess per account name: never near the pair brake
        assert log_in(sprayer, f"ta-{n}", WRONG, **_via_proxy(ATTACKER)).status_code == 401, n
    braked = log_in(sprayer, ADMIN, PASSWORD, **_via_proxy(ATTACKER))
    assert braked.status_code == 429 and "Too many wrong passwords" in braked.get_data(as_text=True)
    assert 0 < int(braked.headers["Retry-After"]) <= WINDOW_S + 1
    # The ceiling is the address's, not everyone's behind the proxy.
    assert log_in(proxied_app.test_client(), **_via_proxy(INSTRUCTOR)).status_code == 302


def test_wrong_tokens_from_one_forwarded_address_leave_set_up_open_from_another(proxied_app):
    accounts = proxied_app.extensions["course_ta_console"].accounts
    attacker = proxied_app.test_client()
    for _ in range(MAX_FAILURES):
        form = {"token": "guessed-token", "username": "intruder", "password": "a long enough password"}
        form["csrf_token"] = csrf_token(attacker)
        assert attacker.post("/login/token", data=form, **_via_proxy(ATTACKER)).status_code == 400
    form["csrf_token"] = csrf_token(attacker)
    assert attacker.post("/login/token", data=form, **_via_proxy(ATTACKER)).status_code == 429

    newcomer = proxied_app.test_client()
    form = {"token": accounts.create_token(), "username": "ta-anna", "password": "a long enough password"}
    form["csrf_token"] = csrf_token(newcomer)
    assert newcomer.post("/login/token", data=form, **_via_proxy(INSTRUCTOR)).status_code == 302
    assert accounts.verify("ta-anna", "a long enough password")


def test_the_session_cookie_is_secure_when_a_trusted_proxy_says_https(proxied_app):
    over_https = log_in(proxied_app.test_client(), **_via_proxy(INSTRUCTOR, proto="https"))
    assert over_https.status_code == 302 and "Secure" in over_https.headers["Set-Cookie"]
    over_http = log_in(proxied_app.test_client(), **_via_proxy(INSTRUCTOR, proto="http"))
    assert over_http.status_code == 302 and "Secure" not in over_http.headers["Set-Cookie"]


@pytest.mark.parametrize("value", ["-1", "11", "two"])
def test_trusted_proxies_is_validated(monkeypatch, value):
    monkeypatch.setenv("COURSE_TA_CONSOLE_TRUSTED_PROXIES", value)
    with pytest.raises(SettingsError, match="COURSE_TA_CONSOLE_TRUSTED_PROXIES"):
        load_settings()


def test_brake_tiers_and_window():
    now = [0.0]
    brake = LoginBrake(clock=lambda: now[0])
    # The pair: MAX_FAILURES from one address at one account brakes that pair only.
    for _ in range(MAX_FAILURES):
        brake.failed("user:prof", "a")
    assert brake.retry_after("user:prof", "a") == pytest.approx(WINDOW_S)
    assert brake.retry_after("user:prof", "b") == 0 and brake.retry_after("user:ana", "a") == 0
    # The account's ceiling needs many addresses, each held to the pair brake.
    addresses = [f"10.0.0.{n}" for n in range(-(-ACCOUNT_MAX_FAILURES // MAX_FAILURES))]
    for address in addresses:
        for _ in range(MAX_FAILURES):
            if brake.retry_after("user:ana", address) == 0:
                brake.failed("user:ana", address)
    assert brake.retry_after("user:ana", "10.9.9.9") > 0  # a distributed guess at one account is braked everywhere
    assert brake.retry_after("user:prof", "10.9.9.9") == 0
    # A success clears only its pair: the address's and the account's counts stay.
    brake.succeeded("user:prof", "a")
    assert brake.retry_after("user:prof", "a") == 0
    # Tokens are braked per address, with no account to lock.
    for _ in range(MAX_FAILURES):
        brake.failed(LoginBrake.TOKEN, "t")
    assert brake.retry_after(LoginBrake.TOKEN, "t") > 0 and brake.retry_after(LoginBrake.TOKEN, "u") == 0
    now[0] = WINDOW_S + 1
    assert brake.retry_after("user:ana", "10.9.9.9") == 0 and brake.retry_after(LoginBrake.TOKEN, "t") == 0
