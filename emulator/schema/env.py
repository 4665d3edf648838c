"""Alembic's environment for the state database: migrations run on the connection the
emulator (``emulator.schema``) hands over, against the tables of every model."""

from __future__ import annotations

from alembic import context

from emulator.db import all_tables

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=all_tables(),
                  render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
with context.begin_transaction():
    context.run_migrations()
