"""Alembic environment: migrate the database of the current Flask app (see runtime/store/schema.py).

Logging is left to the app: migrations run at every start and must not reconfigure it.
"""

import logging

from alembic import context
from flask import current_app

logger = logging.getLogger("alembic.env")
config = context.config
target_db = current_app.extensions["migrate"].db
config.set_main_option("sqlalchemy.url",
                       target_db.engine.url.render_as_string(hide_password=False).replace("%", "%%"))


def render_item(type_, obj, autogen_context):
    """Write our UTCDateTime as the plain column type it stores, so migrations never import models."""
    if type_ == "type" and type(obj).__name__ == "UTCDateTime":
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations_offline():
    """Emit SQL to stdout (`flask db upgrade --sql`) instead of running it."""
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_db.metadata,
                      literal_binds=True, render_item=render_item)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    def process_revision_directives(context, revision, directives):
        """`flask db migrate` with no model change writes no empty revision."""
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")

    conf_args = {"process_revision_directives": process_revision_directives, "render_item": render_item,
                 **current_app.extensions["migrate"].configure_args}
    with target_db.engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_db.metadata, **conf_args)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
