"""Bot secrets: stored encrypted, listed by name only, set and deleted from the command line."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from runtime.extensions import db
from runtime.store import secrets
from runtime.store.bots import import_bot

DOC = {"format": 1, "id": "shop", "name": "Shop", "start": "a", "dialogs": [{"id": "a", "steps": []}]}


@pytest.fixture
def shop(app):
    import_bot(DOC, publish=True)
    return "shop"


def test_set_replace_list_and_delete(shop):
    secrets.set_secret(shop, "crm-token", "first-value")
    secrets.set_secret(shop, "crm-token", "second-value")
    secrets.set_secret(shop, "jira", "j-1")
    assert secrets.names(shop) == ["crm-token", "jira"]
    assert secrets.values(shop, {"crm-token"}) == {"crm-token": "second-value"}
    assert secrets.delete_secret(shop, "jira") and not secrets.delete_secret(shop, "jira")
    with pytest.raises(secrets.SecretMissing, match="The bot secret 'jira' is not set"):
        secrets.values(shop, {"jira"})


def test_values_are_encrypted_at_rest(shop):
    secrets.set_secret(shop, "crm-token", "plain-text-value")
    stored = db.session.execute(text("SELECT sealed FROM bot_secrets")).scalar()
    assert "plain-text-value" not in stored


def test_bad_names_and_values_are_refused(shop):
    with pytest.raises(ValueError, match="letters, digits"):
        secrets.set_secret(shop, "has space", "v")
    with pytest.raises(ValueError, match="must not be empty"):
        secrets.set_secret(shop, "ok", "")


def test_the_command_reads_the_value_from_stdin_and_never_prints_it(shop, runner):
    result = runner.invoke(args=["bots", "secret", shop, "crm-token"], input="from-stdin-123\n")
    assert result.exit_code == 0, result.output
    assert "from-stdin-123" not in result.output
    assert secrets.values(shop, {"crm-token"}) == {"crm-token": "from-stdin-123"}
    listed = runner.invoke(args=["bots", "secrets", shop])
    assert listed.output.split() == ["crm-token"]
    deleted = runner.invoke(args=["bots", "secret", shop, "crm-token", "--delete"])
    assert deleted.exit_code == 0 and secrets.names(shop) == []
    unknown = runner.invoke(args=["bots", "secret", "nope", "x"], input="v\n")
    assert unknown.exit_code == 1 and "There is no bot 'nope'" in unknown.output
