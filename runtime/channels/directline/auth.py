"""Who is calling: the Bearer credential of a Direct Line request, and the conversation it may touch.

Statuses follow what DirectLineJS does with them: 401 for no credential at all; 403 for one that
does not open what is asked (forged, expired, another conversation's), which the client reports
as an expired token so the page can get a new one; 404 only for a conversation that is not there.
"""

from __future__ import annotations

from flask import g, request

from runtime.channels.directline import secret, tokens
from runtime.channels.directline.errors import DirectLineError, storable_id
from runtime.extensions import db
from runtime.store.models import Conversation


def caller(needs: str | None = None) -> tokens.Grant:
    """The grant of the request's `Authorization: Bearer <secret or token>`; remembers its bot for CORS.

    `needs` is "secret" for tokens/generate, "token" for tokens/refresh.
    """
    scheme, _, credential = request.headers.get("Authorization", "").partition(" ")
    credential = credential.strip()
    if scheme.lower() != "bearer" or not credential:
        raise DirectLineError(401, "MissingCredential",
                              "Send the header Authorization: Bearer <the bot's Direct Line secret or a token>.")
    if "." in credential:  # a JWT; secrets have no dots
        try:
            grant = tokens.read(credential)
        except tokens.TokenExpired:
            raise DirectLineError(403, "TokenExpired", "The token has expired: get a new one (and refresh "
                                                       "tokens with /tokens/refresh before they expire).") from None
        except tokens.TokenRejected:
            raise DirectLineError(403, "InvalidToken", "This token was not issued by this server, or was "
                                                       "altered.") from None
    else:
        bot_id = secret.bot_of(credential)
        if bot_id is None:
            raise DirectLineError(403, "InvalidSecret", "This is not the Direct Line secret of any bot here "
                                                        "(was it regenerated?).")
        grant = tokens.Grant(bot_id)
    g.directline_bot = grant.bot_id
    if needs == "secret" and grant.is_token:
        raise DirectLineError(403, "SecretRequired", "Generate tokens with the bot's Direct Line secret, from "
                                                     "your server; a token can only be refreshed.")
    if needs == "token" and not grant.is_token:
        raise DirectLineError(403, "TokenRequired", "Refresh a token, not a secret: send Authorization: "
                                                    "Bearer <the token to refresh>.")
    return grant


def conversation_for(grant: tokens.Grant, conversation_id: str) -> Conversation:
    """The conversation, if the grant opens it: a token only its own, a secret any of its bot's."""
    if grant.is_token and grant.conversation_id != conversation_id:
        raise DirectLineError(403, "WrongConversation", "This token opens another conversation; use the "
                                                        "conversationId it came with.")
    conversation = db.session.get(Conversation, conversation_id) if storable_id(conversation_id) else None
    if conversation is None:
        raise DirectLineError(404, "ConversationNotFound", f"There is no conversation '{conversation_id}'.")
    if conversation.bot_id != grant.bot_id:
        raise DirectLineError(403, "WrongConversation", "This conversation belongs to another bot.")
    return conversation
