"""Integrations: the template catalog, the guarded HTTP session, auth, and the calls integration steps make.

Settings (defaults in `init_app`):
OUTBOUND_ALLOW_HOSTS: host names and networks every outbound call (integrations, webhooks, dataset pulls,
SMS) may reach although they are not public (`crm.internal 10.1.0.0/16`; the older name
INTEGRATIONS_ALLOW_HOSTS is still read when it is not set); INTEGRATIONS_MAX_RESPONSE_BYTES (10 MiB);
INTEGRATIONS_ENABLED (only these template slugs) and INTEGRATIONS_DISABLED (all but these);
INTEGRATIONS_TEMPLATE_DIRS (more template folders, separated by the path separator); saved templates go to
`$ARBOR_DATA/integration-templates`.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from flask import Flask, current_app

from runtime.integrations import catalog as catalog_
from runtime.integrations.auth import TokenCache
from runtime.integrations.calls import Services
from runtime.integrations.http import Guard, HttpSession
from runtime.turns import effects

DEFAULTS = {
    "OUTBOUND_ALLOW_HOSTS": "",
    "INTEGRATIONS_MAX_RESPONSE_BYTES": 10 * 2**20,
    "INTEGRATIONS_ENABLED": "",
    "INTEGRATIONS_DISABLED": "",
    "INTEGRATIONS_TEMPLATE_DIRS": "",
}


class Integrations:
    """One app's catalog, session and token cache (`app.extensions["arbor.integrations"]`)."""

    def __init__(self, app: Flask):
        config = app.config
        self.saved = Path(config["ARBOR_DATA"]) / "integration-templates"
        extra = [Path(p) for p in str(config["INTEGRATIONS_TEMPLATE_DIRS"]).split(os.pathsep) if p]
        self.folders = [catalog_.BUILT_IN, *extra, self.saved]
        self.enabled = _names(config["INTEGRATIONS_ENABLED"]) or None
        self.disabled = _names(config["INTEGRATIONS_DISABLED"])
        guard = Guard.from_setting(config["OUTBOUND_ALLOW_HOSTS"] or config.get("INTEGRATIONS_ALLOW_HOSTS"),
                                   **({"resolve": config["INTEGRATIONS_RESOLVER"]}
                                      if config.get("INTEGRATIONS_RESOLVER") else {}))
        self.services = Services(HttpSession(guard, max_bytes=int(config["INTEGRATIONS_MAX_RESPONSE_BYTES"])),
                                 TokenCache())
        self._lock = threading.Lock()
        self._catalog, self._stamp = None, None

    @property
    def catalog(self) -> catalog_.Catalog:
        """The catalog, scanned again when a template was saved (by any process) since the last scan."""
        stamp = self.saved.stat().st_mtime_ns if self.saved.exists() else None
        if self._catalog is None or stamp != self._stamp:
            with self._lock:
                self._catalog = catalog_.scan(self.folders, enabled=self.enabled, disabled=self.disabled)
                self._stamp = stamp
        return self._catalog


def _names(setting) -> set[str]:
    return set(setting.replace(",", " ").split()) if isinstance(setting, str) else set(setting or ())


def init_app(app: Flask) -> None:
    """Give the app its integrations, register the handlers of calls, add `flask bots secret`, and serve
    the sign-in callback (`/b/<bot>/oauth/callback`)."""
    from runtime.integrations import runner, sign_in
    from runtime.store import secrets_cli

    for name, value in DEFAULTS.items():
        app.config.setdefault(name, value)
    app.extensions["arbor.integrations"] = Integrations(app)
    registry = effects.registry(app)
    registry.after_commit("integration.call", runner.now, when=runner.in_request, own_turn=True)
    registry.after_commit("integration.call", runner.queued, when=runner.on_queue)
    registry.after_commit("sign-in.forget", sign_in.forget_user)
    secrets_cli.register(app)
    app.register_blueprint(sign_in.bp)


def get(app: Flask | None = None) -> Integrations:
    """The current app's integrations."""
    return (app or current_app).extensions["arbor.integrations"]


def session(app: Flask | None = None) -> HttpSession:
    """The app's one guarded HTTP session: every outbound call goes through it."""
    return get(app).services.http
