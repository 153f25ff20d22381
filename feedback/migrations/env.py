"""Alembic's environment: migrate the connection ``feedback.migrate`` hands over.

Alembic runs this file for every command. The connection comes in ``config.attributes``, in
the caller's transaction (which holds the writers' lock), so the whole upgrade commits or
rolls back as one.
"""

from alembic import context

from feedback.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the migrations through feedback.migrate (Store.open does), "
                       "which hands Alembic a connection")

context.configure(connection=connection, target_metadata=metadata)
with context.begin_transaction():
    context.run_migrations()
