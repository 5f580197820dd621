"""Bot secrets: stored encrypted, listed by name only, set and deleted from the command line."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from runtime.extensions import db
from runtime.store import secrets
from runtime.store.bots import import_bot

CRM = "https://crm.example.com/api"
DOC = {"format": 1, "id": "shop", "name": "Shop", "start": "a", "dialogs": [{"id": "a", "steps": []}]}


@pytest.fixture
def shop(app):
    import_bot(DOC, publish=True)
    return "shop"


def test_set_replace_list_and_delete(shop):
    secrets.set_secret(shop, "crm-token", "first-value", bound_to=CRM)
    secrets.set_secret(shop, "crm-token", "second-value", bound_to=CRM)
    secrets.set_secret(shop, "jira", "j-1", bound_to="https://jira.example.com")
    assert secrets.names(shop) == ["crm-token", "jira"]
    assert secrets.values(shop, {"crm-token"}) == {"crm-token": "second-value"}
    assert secrets.delete_secret(shop, "jira") and not secrets.delete_secret(shop, "jira")
    with pytest.raises(secrets.SecretMissing, match="The bot secret 'jira' is not set"):
        secrets.values(shop, {"jira"})


def test_values_are_encrypted_at_rest(shop):
    secrets.set_secret(shop, "crm-token", "plain-text-value", bound_to=CRM)
    stored = db.session.execute(text("SELECT sealed FROM bot_secrets")).scalar()
    assert "plain-text-value" not in stored


def test_bad_names_and_values_are_refused(shop):
    with pytest.raises(ValueError, match="letters, digits"):
        secrets.set_secret(shop, "has space", "v", bound_to=CRM)
    with pytest.raises(ValueError, match="must not be empty"):
        secrets.set_secret(shop, "ok", "", bound_to=CRM)
    with pytest.raises(ValueError, match="Say which address the secret is for"):
        secrets.set_secret(shop, "ok", "v", bound_to="")


def test_the_command_reads_the_value_from_stdin_and_never_prints_it(shop, runner):
    result = runner.invoke(args=["bots", "secret", shop, "crm-token", "--for", CRM], input="from-stdin-123\n")
    assert result.exit_code == 0, result.output
    assert "from-stdin-123" not in result.output
    assert secrets.values(shop, {"crm-token"}) == {"crm-token": "from-stdin-123"}
    listed = runner.invoke(args=["bots", "secrets", shop])
    assert listed.output.split() == ["crm-token", CRM]
    deleted = runner.invoke(args=["bots", "secret", shop, "crm-token", "--delete"])
    assert deleted.exit_code == 0 and secrets.names(shop) == []
    unknown = runner.invoke(args=["bots", "secret", "nope", "x", "--for", CRM], input="v\n")
    assert unknown.exit_code == 1 and "There is no bot 'nope'" in unknown.output
