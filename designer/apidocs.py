"""The API page: the OpenAPI document of the management and Direct Line APIs, rendered for reading inside the
designer (the same operations as the plain page /api/docs, `_openapi_operations.html`)."""

from __future__ import annotations

from flask import render_template

from designer import bp
from runtime.management.openapi import document


@bp.get("/api")
def api_docs():
    return render_template("designer/api_docs.html", doc=document())
