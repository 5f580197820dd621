"""Microsoft's BotFramework-WebChat (npm botframework-webchat, pinned in package.json), embedded in a page
of another origin as its documentation shows, converses with an Arbor bot over our Direct Line API: over the
WebSocket stream (`webSocket: true`, its default) and by polling (`webSocket: false`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from runtime.channels.directline.cors import allowed_origins, set_allowed_origins
from runtime.channels.directline.secret import reveal

WEBCHAT_JS = Path(__file__).resolve().parents[2] / "node_modules" / "botframework-webchat" / "dist" / "webchat.js"

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not WEBCHAT_JS.exists(),
                       reason="botframework-webchat is not installed (make test-tools runs npm ci)"),
]

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Another site</title>
<script src="/node_modules/botframework-webchat/dist/webchat.js"></script></head>
<body><div id="webchat" style="height: 700px"></div>
<script>
  window.WebChat.renderWebChat({
    directLine: window.WebChat.createDirectLine({token: %(token)s, domain: %(domain)s, webSocket: %(ws)s}),
  }, document.getElementById('webchat'));
</script></body></html>
"""


def site_backend_token(live, site, bot: str, user_data: dict) -> str:
    """What a site's backend does: let its pages call the bot, and get a token with the bot's secret."""
    with live.app.app_context():
        set_allowed_origins(bot, [*allowed_origins(bot), site.url])
        secret = reveal(bot)[0]
    client = live.app.test_client()
    answer = client.post("/v3/directline/tokens/generate", headers={"Authorization": f"Bearer {secret}"},
                         json={"user": {"id": "dl_eva"}, "userData": user_data})
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["token"]


@pytest.mark.parametrize("web_socket", [True, False], ids=["stream", "polling"])
def test_microsoft_webchat_converses_with_an_arbor_bot(page: Page, live, site, web_socket: bool):
    token = site_backend_token(live, site, "lead-capture", {"name": "Eva"})
    url = site.add(f"/webchat-{web_socket}.html", PAGE % {"token": json.dumps(token), "ws": json.dumps(web_socket),
                                                          "domain": json.dumps(f"{live.url}/v3/directline")})
    sockets, polls, frames = [], [], []
    page.on("websocket", lambda ws: (sockets.append(ws.url),
                                     ws.on("framereceived", lambda payload: frames.append(payload))))
    page.on("request", lambda request: polls.append(request.url) if request.method == "GET"
            and request.url.split("?")[0].endswith("/activities") else None)
    page.goto(url)
    said = page.locator(".webchat__bubble__content")  # the bubbles (screen readers get copies of the texts)
    expect(said.get_by_text("Hi Eva! I am Arbor’s demo assistant.")).to_be_visible()  # markdown: curly quote

    page.get_by_role("toolbar", name="Suggested actions").get_by_role("button", name="See the plans").click()
    expect(said.get_by_text("Our plans:")).to_be_visible()
    expect(page.get_by_text("49 € a month, up to 20 people", exact=True)).to_be_visible()  # a hero card in a carousel
    page.locator(".ac-pushButton").filter(has_text="Choose Team").click()  # a card button (postBack)
    expect(said.get_by_text("Good choice: the Team plan.")).to_be_visible()
    expect(said.get_by_text("What is your name?")).to_be_visible()

    box = page.get_by_placeholder("Type your message")
    box.fill("Eva Nováková")
    box.press("Enter")
    expect(said.get_by_text("Thanks, Eva Nováková. Your e-mail?")).to_be_visible()
    expect(page.get_by_text("Send failed")).to_have_count(0)
    if web_socket:  # every reply came over the stream; nothing polled
        assert len(sockets) == 1 and "/stream?t=" in sockets[0] and polls == []
        assert any("Thanks, Eva Nov" in frame for frame in frames)
    else:
        assert sockets == [] and polls
