"""Auth per integration, each against a local server that checks what arrives; OAuth2 client credentials
against a local token endpoint (RFC 6749 §4.4): fetched once, cached until expiry, fetched again after."""

from __future__ import annotations

import base64
import json

from werkzeug import Request, Response

CONTACT = {"name": "Eva", "email": "eva@example.com"}


def crm(httpserver, auth: dict) -> dict:
    return {"config": {"baseUrl": httpserver.url_for("/api")}, "auth": auth}


def test_none_sends_no_credentials(httpserver, call):
    httpserver.expect_request("/api/contacts").respond_with_handler(
        lambda r: Response(json.dumps({"id": "auth" not in {k.lower() for k in r.headers.keys()}})))
    assert call("crm-add-contact", crm(httpserver, {"type": "none"}), CONTACT).output == {"id": "True"}


def test_basic(httpserver, call):
    pair = base64.b64encode(b"api-user:pa55word").decode()
    httpserver.expect_request("/api/contacts", headers={"Authorization": f"Basic {pair}"}).respond_with_json({"id": 1})
    result = call("crm-add-contact", crm(httpserver, {"type": "basic", "username": "api-user"}), CONTACT,
                  secrets={"password": "pa55word"})
    assert result.ok, result.error
    assert pair not in json.dumps(result.exchanges) and "pa55word" not in json.dumps(result.exchanges)


def test_bearer_from_a_bot_secret(httpserver, call):
    httpserver.expect_request("/api/contacts", headers={"Authorization": "Bearer tok-1234"}) \
        .respond_with_json({"id": 2})
    assert call("crm-add-contact", crm(httpserver, {"type": "bearer"}), CONTACT, secrets={"token": "tok-1234"}).ok


def test_user_token_from_the_users_data(httpserver, call):
    httpserver.expect_request("/api/contacts", headers={"Authorization": "Bearer eva-session-9"}) \
        .respond_with_json({"id": 3})
    auth = {"type": "user-token", "storage": "portalToken"}
    assert call("crm-add-contact", crm(httpserver, auth), CONTACT, user_data={"portalToken": "eva-session-9"}).ok
    missing = call("crm-add-contact", crm(httpserver, auth), CONTACT, user_data={})
    assert not missing.ok and "The user's token (storage 'portalToken') is missing" in missing.error


def test_api_key_in_a_header_or_the_query(httpserver, call):
    httpserver.expect_request("/api/contacts", headers={"X-Key": "k-777"}).respond_with_json({"id": 4})
    httpserver.expect_request("/api/contacts", query_string="api_key=k-777").respond_with_json({"id": 5})
    header = call("crm-add-contact", crm(httpserver, {"type": "api-key", "in": "header", "name": "X-Key"}), CONTACT,
                  secrets={"apiKey": "k-777"})
    query = call("crm-add-contact", crm(httpserver, {"type": "api-key", "in": "query", "name": "api_key"}), CONTACT,
                 secrets={"apiKey": "k-777"})
    assert header.output == {"id": "4"} and query.output == {"id": "5"}
    assert "k-777" not in json.dumps([header.exchanges, query.exchanges])


def test_a_template_refuses_an_auth_it_does_not_support(httpserver, call):
    result = call("slack-post-message", {"auth": {"type": "bearer"}}, {"text": "hi"}, secrets={"token": "x-123"})
    assert not result.ok and "does not support 'bearer' auth" in result.error


class TokenEndpoint:
    """A client-credentials token endpoint: checks the client's Basic credentials, counts tokens issued."""

    def __init__(self, expires_in: int):
        self.expires_in, self.issued = expires_in, 0

    def __call__(self, request: Request) -> Response:
        expected = "Basic " + base64.b64encode(b"arbor-client:client-s3cret").decode()
        if request.headers.get("Authorization") != expected or request.form.get("grant_type") != "client_credentials":
            return Response(json.dumps({"error": "invalid_client"}), status=401, content_type="application/json")
        self.issued += 1
        return Response(json.dumps({"access_token": f"access-{self.issued}", "token_type": "Bearer",
                                    "expires_in": self.expires_in, "scope": request.form.get("scope")}),
                        content_type="application/json")


def oauth(httpserver, client_secret: str = "client-s3cret") -> tuple[dict, dict]:
    auth = {"type": "oauth2-client-credentials", "tokenUrl": httpserver.url_for("/oauth/token"),
            "clientId": "arbor-client", "scope": "contacts.write"}
    return crm(httpserver, auth), {"clientSecret": client_secret}


def test_oauth2_client_credentials_token_is_cached_until_it_expires(httpserver, call):
    endpoint = TokenEndpoint(expires_in=3600)
    httpserver.expect_request("/oauth/token", method="POST").respond_with_handler(endpoint)
    httpserver.expect_request("/api/contacts", headers={"Authorization": "Bearer access-1"}) \
        .respond_with_json({"id": 6})
    integration, secrets = oauth(httpserver)
    first = call("crm-add-contact", integration, CONTACT, secrets=secrets)
    second = call("crm-add-contact", integration, CONTACT, secrets=secrets)
    assert first.ok and second.ok, (first.error, second.error)
    assert endpoint.issued == 1
    assert [e["url"] for e in first.exchanges] == [httpserver.url_for("/oauth/token"),
                                                   httpserver.url_for("/api/contacts")]
    assert len(second.exchanges) == 1
    assert "access-1" not in json.dumps(first.exchanges) and "client-s3cret" not in json.dumps(first.exchanges)


def test_oauth2_token_is_fetched_again_once_expired(httpserver, call):
    endpoint = TokenEndpoint(expires_in=1)  # inside the 30 s leeway: expired as soon as it is cached
    httpserver.expect_request("/oauth/token", method="POST").respond_with_handler(endpoint)
    httpserver.expect_request("/api/contacts").respond_with_handler(
        lambda r: Response(json.dumps({"id": r.headers["Authorization"].split("-")[-1]})))
    integration, secrets = oauth(httpserver)
    outputs = [call("crm-add-contact", integration, CONTACT, secrets=secrets).output for _ in range(2)]
    assert outputs == [{"id": "1"}, {"id": "2"}] and endpoint.issued == 2


def test_oauth2_refused_client_is_a_clear_error(httpserver, call):
    httpserver.expect_request("/oauth/token", method="POST").respond_with_handler(TokenEndpoint(3600))
    integration, secrets = oauth(httpserver, client_secret="wrong-secret")
    result = call("crm-add-contact", integration, CONTACT, secrets=secrets)
    assert not result.ok and "Fetching an OAuth2 token" in result.error and "invalid_client" in result.error
    assert "wrong-secret" not in json.dumps(result.exchanges)
