"""The guarded session refuses loopback, private, link-local and metadata addresses, after DNS and after
every redirect, unless allow-listed; the test server is allow-listed explicitly where a call must pass."""

from __future__ import annotations

import re
import socket

import pytest

from runtime.integrations.errors import IntegrationError, Refused, TimedOut, TooBig
from runtime.integrations.http import Guard, HttpSession

LOCAL = Guard.from_setting("127.0.0.1")


@pytest.mark.parametrize("url, kind", [
    ("http://127.0.0.1:9/", "loopback"),
    ("http://10.0.0.5/", "private"),
    ("http://169.254.169.254/latest/meta-data/", "link-local (cloud metadata)"),
    ("http://[::1]:9/", "loopback"),
    ("http://[::ffff:10.0.0.5]/", "private"),
    ("http://localhost:9/", "loopback"),
])
def test_non_public_addresses_are_refused_without_the_allow_list(url, kind):
    with pytest.raises(Refused, match=re.escape(f"a {kind} address") + ".*OUTBOUND_ALLOW_HOSTS"):
        HttpSession(Guard()).request("GET", url)


def test_a_host_name_resolving_to_a_private_address_is_refused_after_resolution():
    def resolve(host, port, *args):  # the DNS answer of an internal name (no DNS server in tests)
        assert host == "crm.internal.test"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.5", port))]

    with pytest.raises(Refused, match=r"crm.internal.test \(10.0.0.5\): a private address"):
        HttpSession(Guard(resolve=resolve)).request("GET", "http://crm.internal.test/contacts")


def test_the_test_server_passes_only_when_allow_listed(httpserver):
    httpserver.expect_request("/ping").respond_with_json({"pong": True})
    with pytest.raises(Refused):
        HttpSession(Guard()).request("GET", httpserver.url_for("/ping"))
    answer = HttpSession(LOCAL).request("GET", httpserver.url_for("/ping"))
    assert answer.status == 200 and answer.json() == {"pong": True}


def test_a_host_name_can_be_allow_listed_instead_of_a_network(httpserver):
    httpserver.expect_request("/ping").respond_with_json({"pong": True})
    url = f"http://localhost:{httpserver.port}/ping"
    assert HttpSession(Guard.from_setting("localhost")).request("GET", url).json() == {"pong": True}


def test_a_redirect_to_a_private_address_is_refused(httpserver):
    """The test server stands for a public site (allow-listed by host name) that redirects inward."""
    httpserver.expect_request("/out").respond_with_data("", status=302, headers={"Location": "http://10.0.0.5/admin"})
    httpserver.expect_request("/metadata").respond_with_data(
        "", status=301, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    session = HttpSession(Guard.from_setting("localhost"))
    base = f"http://localhost:{httpserver.port}"
    with pytest.raises(Refused, match="10.0.0.5: a private address"):
        session.request("GET", f"{base}/out")
    with pytest.raises(Refused, match="169.254.169.254: a link-local"):
        session.request("GET", f"{base}/metadata")


def test_a_redirect_to_loopback_on_another_name_is_refused(httpserver):
    """Allowing `localhost` does not allow 127.0.0.1 reached under another name."""
    httpserver.expect_request("/out").respond_with_data(
        "", status=302, headers={"Location": f"http://127.0.0.1:{httpserver.port}/in"})
    url = f"http://localhost:{httpserver.port}/out"
    with pytest.raises(Refused, match="127.0.0.1: a loopback"):
        HttpSession(Guard.from_setting("localhost")).request("GET", url)


def test_redirects_are_followed_and_drop_the_body_on_303(httpserver):
    httpserver.expect_request("/create", method="POST").respond_with_data(
        "", status=303, headers={"Location": "/created/7"})
    httpserver.expect_request("/created/7", method="GET").respond_with_json({"id": 7})
    answer = HttpSession(LOCAL).request("POST", httpserver.url_for("/create"), json_body={"a": 1})
    assert answer.json() == {"id": 7} and answer.history == [httpserver.url_for("/create")]


def test_a_caller_that_must_not_follow_redirects_gets_the_redirect_itself(httpserver):
    """Outgoing webhooks: a 3xx is the receiver's answer, never a hop (the target is not even resolved)."""
    httpserver.expect_request("/hook", method="POST").respond_with_data(
        "", status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    answer = HttpSession(LOCAL).request("POST", httpserver.url_for("/hook"), data=b"{}", follow_redirects=False)
    assert (answer.status, answer.headers["Location"], answer.history) == (
        302, "http://169.254.169.254/latest/meta-data/", [])
    assert len(httpserver.log) == 1


@pytest.mark.parametrize("url", ["http://10.0.0.5/hook", "http://169.254.169.254/latest/meta-data/"])
def test_a_saved_address_is_checked_early_and_passes_when_allow_listed(url):
    """`check_url` is what a webhook subscription runs when saved; it resolves but does not connect."""
    with pytest.raises(Refused, match="OUTBOUND_ALLOW_HOSTS"):
        Guard().check_url(url)
    assert Guard.from_setting("10.0.0.0/8, 169.254.169.254").check_url(url) is None
    with pytest.raises(Refused, match="not an http\\(s\\) address"):
        Guard().check_url("ftp://example.com/x")


def test_a_download_goes_to_the_file_within_its_own_size_limit(httpserver, tmp_path):
    """Dataset pulls: a big file is written chunk by chunk, with a limit of the caller's, not the session's."""
    httpserver.expect_request("/data.csv").respond_with_data(b"a,b\n" + b"1,2\n" * 100_000)
    session = HttpSession(LOCAL, max_bytes=1000)
    with open(tmp_path / "data.csv", "w+b") as file:
        answer = session.download(httpserver.url_for("/data.csv"), file, timeout=10, max_bytes=10 * 2**20)
        assert answer.status == 200 and answer.content == b"" and file.tell() == 4 + 4 * 100_000
    with open(tmp_path / "small.csv", "w+b") as file, pytest.raises(TooBig, match="at most 1000 bytes is read"):
        session.download(httpserver.url_for("/data.csv"), file, timeout=10, max_bytes=1000)


def test_other_schemes_are_refused():
    with pytest.raises(Refused, match="only http:// and https://"):
        HttpSession(LOCAL).request("GET", "file:///etc/passwd")


def test_responses_over_the_limit_are_cut_off(httpserver):
    httpserver.expect_request("/big").respond_with_data(b"x" * 3000)
    with pytest.raises(TooBig, match="at most"):
        HttpSession(LOCAL, max_bytes=1000).request("GET", httpserver.url_for("/big"))


def test_a_slow_server_times_out(httpserver):
    import threading

    release = threading.Event()

    def slow(request):
        release.wait(5)
        from werkzeug import Response
        return Response("late")

    httpserver.expect_request("/slow").respond_with_handler(slow)
    try:
        with pytest.raises(TimedOut, match="did not answer within the timeout"):
            HttpSession(LOCAL).request("POST", httpserver.url_for("/slow"), timeout=0.2)
    finally:
        release.set()


def test_retries_only_idempotent_methods(httpserver):
    calls = []

    def flaky(request):
        from werkzeug import Response
        calls.append(request.method)
        return Response("busy", status=503) if len(calls) % 2 else Response("fine")

    httpserver.expect_request("/flaky").respond_with_handler(flaky)
    session = HttpSession(LOCAL)
    assert session.request("GET", httpserver.url_for("/flaky")).text == "fine"
    assert calls == ["GET", "GET"]
    calls.clear()
    assert session.request("POST", httpserver.url_for("/flaky")).status == 503
    assert calls == ["POST"]


def test_an_unreachable_port_is_a_clear_error():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(IntegrationError, match="Could not reach 127.0.0.1"):
        HttpSession(LOCAL).request("POST", f"http://127.0.0.1:{port}/")
