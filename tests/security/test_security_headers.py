"""Hole 7 of issue 15, headers: every designer page and partial (the sign-in page too) sends a
Content-Security-Policy that forbids framing and scripts from elsewhere, X-Frame-Options, a Referrer-Policy and
nosniff. (That the designer still works under this policy is checked in Chromium by
tests/e2e/test_designer_browser.py.)"""

from __future__ import annotations

import re

import pytest

from runtime.extensions import db
from runtime.store.accounts import create_user


@pytest.fixture
def signed_in(app):
    with app.app_context():
        create_user("eva@example.com", "correct horse", "admin")
        db.session.remove()
    client = app.test_client()
    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/designer/signin").text).group(1)
    client.post("/designer/signin", data={"csrf_token": token, "email": "eva@example.com",
                                          "password": "correct horse"})
    return client


def policy(response) -> dict[str, str]:
    return {part.split()[0]: part.strip() for part in response.headers["Content-Security-Policy"].split(";")
            if part.strip()}


@pytest.mark.parametrize(("path", "htmx"), [("/designer/signin", False), ("/designer/", False),
                                             ("/designer/bots?partial=list", True), ("/designer/nowhere", False)])
def test_designer_pages_send_the_security_headers(signed_in, path, htmx):
    response = signed_in.get(path, headers={"HX-Request": "true"} if htmx else {})
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    found = policy(response)
    assert found["frame-ancestors"] == "frame-ancestors 'none'"
    assert found["default-src"] == "default-src 'self'" and found["object-src"] == "object-src 'none'"
    assert "https:" not in found["script-src"] and "*" not in found["script-src"]
    assert found["base-uri"] == "base-uri 'self'" and found["form-action"] == "form-action 'self'"
