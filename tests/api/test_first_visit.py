"""What a newcomer meets first: the sign-in redirect that brings them back where they were going."""

from __future__ import annotations

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
