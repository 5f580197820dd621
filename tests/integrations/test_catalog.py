"""The catalog: a folder scan that offers only templates whose template.json validates, says why it left
others out, honours enable/disable settings, lives in app.extensions, and groups templates for the designer."""

from __future__ import annotations

import json
import logging
import shutil

from app import create_app
from runtime.extensions import db
from runtime.integrations import get
from runtime.integrations.catalog import BUILT_IN, scan

ALL = ["crm-add-contact", "graphql", "http-request", "hubspot", "jira", "jira-create-ticket", "list-to-carousel",
       "rest-resource", "slack-post-message", "webhook"]


def test_the_built_in_catalog_loads_whole():
    catalog = scan([BUILT_IN])
    assert sorted(catalog.templates) == ALL and catalog.rejected == {}


def test_bad_folders_are_left_out_and_logged_with_the_reason(tmp_path, caplog):
    (tmp_path / "no-json").mkdir()
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "template.json").write_text("{nope")
    shutil.copytree(BUILT_IN / "webhook", tmp_path / "bad-level")
    spec = json.loads((tmp_path / "bad-level" / "template.json").read_text())
    (tmp_path / "bad-level" / "template.json").write_text(json.dumps({**spec, "slug": "bad-level", "level": "magic"}))
    shutil.copytree(BUILT_IN / "graphql", tmp_path / "needs-lib")
    spec = json.loads((tmp_path / "needs-lib" / "template.json").read_text())
    (tmp_path / "needs-lib" / "template.json").write_text(json.dumps({**spec, "slug": "needs-lib"}))
    (tmp_path / "needs-lib" / "handler.py").write_text("import not_installed_lib\n")
    shutil.copytree(BUILT_IN / "webhook", tmp_path / "bad-schema")
    (tmp_path / "bad-schema" / "template.json").write_text(json.dumps({**spec, "slug": "bad-schema",
                                                                        "input": {"type": "nonsense"}}))
    caplog.set_level(logging.WARNING)
    catalog = scan([tmp_path])
    assert catalog.templates == {}
    reasons = {path.rsplit("/", 1)[1]: reason for path, reason in catalog.rejected.items()}
    assert reasons["no-json"] == "there is no template.json"
    assert reasons["broken"].startswith("template.json is not valid JSON")
    assert "level: 'magic' is not one of" in reasons["bad-level"]
    assert reasons["needs-lib"] == "handler.py needs not_installed_lib, which is not installed"
    assert reasons["bad-schema"].startswith("'input' is not a valid JSON Schema")
    assert caplog.text.count("left out of the catalog") == 5


def test_config_enables_and_disables_templates(tmp_path):
    def slugs(**config):
        app = create_app({"TESTING": True, "ARBOR_DATA": str(tmp_path), "SECRET_KEY": "t", **config})
        with app.app_context():
            found = sorted(get().catalog.templates)
            db.engine.dispose()
        return found

    assert slugs() == ALL
    assert slugs(INTEGRATIONS_DISABLED="jira, hubspot") == [s for s in ALL if s not in ("jira", "hubspot")]
    assert slugs(INTEGRATIONS_ENABLED="webhook graphql") == ["graphql", "webhook"]


def test_the_catalog_lives_in_the_apps_extensions(app):
    assert app.extensions["arbor.integrations"].catalog.get("jira").level == "service"


def test_grouped_by_level_with_search():
    catalog = scan([BUILT_IN])
    groups = catalog.grouped()
    assert list(groups) == ["action", "service", "protocol"]
    assert [t["slug"] for t in groups["protocol"]] == ["graphql", "http-request", "webhook"]
    found = catalog.grouped("jira ticket")
    assert [t["slug"] for t in found["action"]] == ["jira-create-ticket"] and found["service"] == []
    assert found["action"][0]["input"]["required"] == ["summary"]
