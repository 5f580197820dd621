"""Every URL the bot sends, checked when it is rendered: the schema sees only the literal text of a button's
`url` or a card's `image`, and a template (`{{ link }}`) can fill it from a storage with anything a visitor
or an outside API put there (`javascript:...`). Arbor's widget neutralises such links, other Direct Line
clients (Microsoft's Web Chat) might not, so the engine checks each outgoing activity here, once for every
step type:

- a link a person opens (an `openUrl` button or card tap): http, https, mailto: or tel:;
- anything a client loads or plays itself (images, media, file downloads, sign-in): http or https;
- a markdown link in a markdown text: relative, or http, https, mailto: or tel:.

A URL that fails is dropped (the button, the image, the link target; a markdown link keeps its words) and
`clean_activity` says why, for the engine to log against the step.
"""

from __future__ import annotations

import html
import re

WEB = ("http", "https")
OPENABLE = ("http", "https", "mailto", "tel")
LINK_ACTIONS = {"openUrl"}
LOADED_ACTIONS = {"playAudio", "playVideo", "showImage", "downloadFile", "signin"}
_IGNORED = re.compile(r"[\x00-\x20\x7f]+")  # browsers skip controls and whitespace inside a scheme
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")
# A markdown link's target (balanced parentheses inside, an optional quoted title after) and an autolink;
# lenient on purpose: spaces and tabs a browser would skip inside a scheme stay in the target checked.
_MARKDOWN_LINK = re.compile(r"!?\[(?P<words>[^\]\n]*)\]\(<?(?P<url>(?:[^()<>\n\"']|\([^()<>\n]*\))*?)>?\s*"
                            r"(?P<title>\"[^\"\n]*\"|'[^'\n]*')?\s*\)")
_AUTOLINK = re.compile(r"<(?P<url>[^<>\n]*:[^<>\n]*)>")


def refusal(url, schemes: tuple[str, ...]) -> str | None:
    """Why `url` may not be sent where `schemes` are allowed, or None when it may."""
    if not isinstance(url, str) or not url.strip():
        return "it is empty" if not isinstance(url, str) or not url else "it is blank"
    found = _SCHEME.match(_IGNORED.sub("", url))
    if not found:
        return "it is not an absolute address (it must start with " + _listed(schemes) + ")"
    scheme = found.group(1).lower()
    if scheme not in schemes:
        return f"its scheme '{scheme}:' is not allowed here (only {_listed(schemes)})"
    if scheme in WEB and not _IGNORED.sub("", url)[len(scheme) + 1:].startswith("//"):
        return f"it does not name a host after '{scheme}:'"
    return None


def _listed(schemes: tuple[str, ...]) -> str:
    return ", ".join(f"{s}://" if s in WEB else f"{s}:" for s in schemes)


def clean_activity(activity: dict) -> tuple[dict, list[str]]:
    """The activity with every URL that may not be sent dropped, and why each was dropped."""
    problems: list[str] = []
    if activity.get("type") != "message":
        return activity, problems
    activity = dict(activity)
    if isinstance(activity.get("text"), str) and activity.get("textFormat", "markdown") == "markdown":
        activity["text"] = _clean_markdown(activity["text"], problems)
    if isinstance(activity.get("suggestedActions"), dict):
        suggested = dict(activity["suggestedActions"])
        suggested["actions"] = _clean_actions(suggested.get("actions"), "a suggested button", problems)
        activity["suggestedActions"] = suggested
    if isinstance(activity.get("attachments"), list):
        kept = []
        for attachment in activity["attachments"]:
            attachment = _clean_attachment(attachment, problems)
            if attachment is not None:
                kept.append(attachment)
        if kept:
            activity["attachments"] = kept
        else:
            del activity["attachments"]
    return activity, problems


def _clean_attachment(attachment, problems: list[str]):
    if not isinstance(attachment, dict):
        return attachment
    attachment = dict(attachment)
    for key in ("contentUrl", "thumbnailUrl"):
        if key in attachment:
            why = refusal(attachment[key], WEB)
            if why:
                problems.append(f"Dropped the {'image' if key == 'contentUrl' else 'thumbnail'} "
                                f"{_shown(attachment[key])}: {why}.")
                if key == "contentUrl":
                    return None
                del attachment[key]
    content = attachment.get("content")
    if isinstance(content, dict):
        content = dict(content)
        if isinstance(content.get("images"), list):
            images = []
            for image in content["images"]:
                why = refusal(image.get("url") if isinstance(image, dict) else image, WEB)
                if why:
                    url = image.get("url") if isinstance(image, dict) else image
                    problems.append(f"Dropped the card image {_shown(url)}: {why}.")
                else:
                    images.append(image)
            content["images"] = images
            if not images:
                del content["images"]
        if "buttons" in content:
            content["buttons"] = _clean_actions(content["buttons"], "a card button", problems)
        if isinstance(content.get("tap"), dict) and not _clean_actions([content["tap"]], "a card's tap", problems):
            del content["tap"]
        attachment["content"] = content
    return attachment


def _clean_actions(actions, where: str, problems: list[str]) -> list:
    if not isinstance(actions, list):
        return actions
    kept = []
    for action in actions:
        kind = action.get("type") if isinstance(action, dict) else None
        schemes = OPENABLE if kind in LINK_ACTIONS else WEB if kind in LOADED_ACTIONS else None
        why = refusal(action.get("value"), schemes) if schemes else None
        if why:
            problems.append(f"Dropped {where} '{str(action.get('title') or '')[:80]}' "
                            f"to {_shown(action.get('value'))}: {why}.")
            continue
        kept.append(action)
    return kept


def _markdown_refusal(url: str) -> str | None:
    """A markdown link may be relative (the page's own address); one that names a scheme is checked, after
    the character references a markdown renderer would decode (`javascript&#58;`)."""
    url = html.unescape(url)
    return refusal(url, OPENABLE) if _SCHEME.match(_IGNORED.sub("", url)) else None


def _clean_markdown(text: str, problems: list[str]) -> str:
    def link(found: re.Match) -> str:
        why = _markdown_refusal(found.group("url"))
        if not why:
            return found.group(0)
        problems.append(f"Dropped the link target {_shown(found.group('url'))} of '{found.group('words')[:80]}': "
                        f"{why}.")
        return found.group("words")

    def autolink(found: re.Match) -> str:
        why = _markdown_refusal(found.group("url"))
        if not why:
            return found.group(0)
        problems.append(f"Dropped the link {_shown(found.group('url'))}: {why}.")
        return ""

    if "(" in text:
        text = _MARKDOWN_LINK.sub(link, text)
    if "<" in text:
        text = _AUTOLINK.sub(autolink, text)
    return text


def _shown(url) -> str:
    text = str(url)
    return repr(text[:80] + ("…" if len(text) > 80 else ""))
