"""Hole 7 of issue 15, sessions: a cookie copied before sign-out (or before a password change) no longer works;
failed sign-ins are limited per account and per address with a message that says when to try again; the session
cookie is SameSite=Lax, and Secure over HTTPS; a `next` with CR/LF is a safe redirect, not a 500.

The Flask test client as the browser; a second client holds the copied cookie."""

from __future__ import annotations

import re

import pytest

from runtime.extensions import db
from runtime.store.accounts import create_user

PASSWORD = "correct horse"


@pytest.fixture
def app_config():
    return {"DESIGNER_SIGNIN_ACCOUNT_LIMIT": "5 per 15 minutes", "DESIGNER_SIGNIN_ADDRESS_LIMIT": "8 per 15 minutes"}


@pytest.fixture
def users(app):
    with app.app_context():
        for email in ("eva@example.com", "jan@example.com", "ola@example.com"):
            create_user(email, PASSWORD, "admin")
        db.session.remove()


def csrf(client) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', client.get("/designer/signin").text).group(1)


def sign_in(client, email="eva@example.com", password=PASSWORD, address="10.0.0.1", **extra):
    return client.post("/designer/signin", data={"csrf_token": csrf(client), "email": email, "password": password,
                                                 **extra}, environ_base={"REMOTE_ADDR": address})


def copy_cookie(source, target) -> None:
    cookie = source.get_cookie("session")
    target.set_cookie("session", cookie.value)


def test_a_cookie_copied_before_sign_out_no_longer_works(app, users):
    browser, thief = app.test_client(), app.test_client()
    assert sign_in(browser).status_code == 302
    copy_cookie(browser, thief)
    assert thief.get("/designer/").status_code == 200  # the copy works while the session lives
    token = re.search(r'name="csrf-token" content="([^"]+)"', browser.get("/designer/").text).group(1)
    assert browser.post("/designer/signout", data={"csrf_token": token}).status_code == 302
    stale = thief.get("/designer/")
    assert stale.status_code == 302 and "/designer/signin" in stale.location


def test_a_password_change_ends_every_session(app, runner, users):
    browser = app.test_client()
    assert sign_in(browser).status_code == 302 and browser.get("/designer/").status_code == 200
    done = runner.invoke(args=["users", "password", "eva@example.com", "--password-stdin"],
                         input="a brand new password\n")
    assert done.exit_code == 0, done.output
    assert browser.get("/designer/").status_code == 302
    assert sign_in(browser, password=PASSWORD).status_code == 400
    assert sign_in(browser, password="a brand new password").status_code == 302


def test_failed_sign_ins_are_limited_per_account_and_per_address(app, users):
    client = app.test_client()
    for attempt in range(5):
        assert sign_in(client, password=f"wrong {attempt}").status_code == 400
    refused = sign_in(client, password=PASSWORD)  # even the right password waits now
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert re.search(r"Try again in \d+ minutes?", refused.text)
    # Per account: from another address too.
    assert sign_in(client, password=PASSWORD, address="10.0.0.2").status_code == 429
    # Per address: guessing other accounts from the first address runs into its own limit.
    for attempt in range(3):
        assert sign_in(client, email="jan@example.com", password=f"wrong {attempt}").status_code == 400
    assert sign_in(client, email="ola@example.com", password=PASSWORD).status_code == 429
    assert sign_in(client, email="ola@example.com", password=PASSWORD, address="10.0.0.3").status_code == 302


def test_the_session_cookie_is_samesite_lax_and_secure_over_https(app, users):
    plain = sign_in(app.test_client())
    cookie = plain.headers["Set-Cookie"]
    assert "SameSite=Lax" in cookie and "Secure" not in cookie and "HttpOnly" in cookie
    secure = app.test_client()
    answer = secure.post("/designer/signin", base_url="https://arbor.example", environ_base={"REMOTE_ADDR": "10.0.0.9"},
                         headers={"Referer": "https://arbor.example/designer/signin"},  # CSRF's HTTPS check
                         data={"csrf_token": re.search(r'name="csrf-token" content="([^"]+)"', secure.get(
                             "/designer/signin", base_url="https://arbor.example").text).group(1),
                               "email": "jan@example.com", "password": PASSWORD})
    assert answer.status_code == 302
    assert "Secure" in answer.headers["Set-Cookie"] and "SameSite=Lax" in answer.headers["Set-Cookie"]


@pytest.mark.parametrize("target", ["/designer/\r\nSet-Cookie: x=1", "/designer/%0d%0a", "/designer\\\\evil.example",
                                    "//evil.example/designer", "https://evil.example/designer"])
def test_next_with_cr_lf_or_another_site_is_a_safe_redirect(app, users, target):
    answer = sign_in(app.test_client(), next=target)
    assert answer.status_code == 302
    assert answer.location in ("/designer/", "/designer/%0d%0a") and "\n" not in answer.location


def test_the_apis_neither_read_nor_write_the_designer_session(app, users):
    """A signed-in browser's cookie goes with every request to the site, the APIs' too (the designer's Try-it
    chat): the APIs take their bearer credential or key only, and never set a cookie."""
    browser = app.test_client()
    assert sign_in(browser).status_code == 302
    for answer in (browser.post("/b/any-bot/api/management/trigger/someone/main", json={}),
                   browser.post("/v3/directline/tokens/generate", json={})):
        assert answer.status_code in (401, 403), answer.text
        assert "Set-Cookie" not in answer.headers and "Cookie" not in answer.headers.get("Vary", "")
    assert browser.get("/designer/").status_code == 200  # the session itself goes on
