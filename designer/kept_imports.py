"""Imported files kept for "import anyway": the document stays on the server, the page carries only an id.

A file with errors is shown with its problems and may still be imported as a draft to mend in the editor.
The page used to send the whole document back in a hidden field, so a 5 MB file made a 5 MB page and came
back as a 5 MB form. Now the upload is kept in the data folder (shared by every web process) under a random
id bound to the person who uploaded it, for KEEP_SECONDS; the page posts back the id only. Old files are
swept whenever a file is kept, and each person keeps at most KEEP_PER_USER at a time.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from pathlib import Path

from flask import current_app

KEEP_SECONDS = 30 * 60
KEEP_PER_USER = 5
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{22,64}$")


def _folder() -> Path:
    folder = Path(current_app.config["ARBOR_DATA"]) / "kept-imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _path(user_id: object, token: str) -> Path | None:
    if not _TOKEN.match(token or "") or not str(user_id).isdigit():
        return None
    return _folder() / f"{user_id}-{token}.json"


def keep(data: bytes, user_id: object) -> str:
    """Keep an uploaded document for this person; the id to post back."""
    _sweep(user_id)
    token = secrets.token_urlsafe(24)
    path = _path(user_id, token)
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    draft.write_bytes(data)
    draft.replace(path)
    return token


def take(token: str, user_id: object) -> bytes | None:
    """The document kept under this id for this person, if it has not expired (it stays until `drop`)."""
    path = _path(user_id, token)
    try:
        if path is None or time.time() - path.stat().st_mtime > KEEP_SECONDS:
            return None
        return path.read_bytes()
    except OSError:
        return None


def drop(token: str, user_id: object) -> None:
    path = _path(user_id, token)
    if path is not None:
        path.unlink(missing_ok=True)


def _sweep(user_id: object) -> None:
    """Remove expired files of everyone, and this person's oldest beyond KEEP_PER_USER - 1."""
    now, mine = time.time(), []
    for path in _folder().glob("*.json"):
        try:
            age = now - path.stat().st_mtime
        except OSError:
            continue
        if age > KEEP_SECONDS:
            path.unlink(missing_ok=True)
        elif path.name.startswith(f"{user_id}-"):
            mine.append((age, path))
    for _, path in sorted(mine)[KEEP_PER_USER - 1:]:
        path.unlink(missing_ok=True)
