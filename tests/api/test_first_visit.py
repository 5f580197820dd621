"""What a newcomer meets first: the favicon on every page, the sign-in redirect that brings them back where
they were going."""

from __future__ import annotations

import re

from designer_client import Designer

from runtime.store.accounts import create_user


def test_signing_in_brings_back_the_page_asked_for_without_a_stray_question_mark(app, client):
    with app.app_context():
        create_user("eva@example.com", "long enough", "admin")
    assert client.get("/designer/").location == "/designer/signin?next=/designer/"
    assert client.get("/designer/import?from=home").location == "/designer/signin?next=/designer/import?from%3Dhome"
    page = client.get("/designer/signin?next=/designer/")
    token = page.text.split('name="csrf-token" content="')[1].split('"')[0]
    assert 'name="next" value="/designer/"' in page.text
    signed_in = client.post("/designer/signin", data={"csrf_token": token, "email": "eva@example.com",
                                                      "password": "long enough", "next": "/designer/import?from=home"})
    assert signed_in.location == "/designer/import?from=home"


def icons_of(html: str) -> list[str]:
    return re.findall(r'<link rel="icon" href="([^"]+)"', html)


def test_every_page_has_a_favicon_that_answers(app, client, bots):
    bots.load("support")
    favicon = client.get("/favicon.ico")
    assert favicon.status_code == 200 and favicon.data[:4] == b"\0\0\1\0"  # an ICO file
    assert favicon.content_type in ("image/vnd.microsoft.icon", "image/x-icon")
    assert client.get("/static/favicon.svg").content_type.startswith("image/svg+xml")
    pages = [client.get(path) for path in ("/", "/designer/welcome", "/b/support/demo", "/api/docs")]
    designer = Designer(app, client).sign_in()
    pages += [client.get("/designer/api")]
    designer.post("/designer/signout")
    pages += [client.get("/designer/signin")]
    for page in pages:
        assert page.status_code == 200, page.request.path
        icons = icons_of(page.text)
        assert icons == ["/favicon.ico", "/static/favicon.svg"], page.request.path
        assert all(client.get(icon).status_code == 200 for icon in icons)
