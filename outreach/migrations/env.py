"""Alembic environment of the outreach queue store.

The URL comes from the caller (`outreach.store.upgrade_database(url)` hands over a connection), or,
when run as `alembic -c outreach/alembic.ini upgrade head`, from churnguard's settings.
"""

from __future__ import annotations

from alembic import context

from outreach.tables import VERSION_TABLE

config = context.config


def run_offline(url: str) -> None:
    context.configure(url=url, version_table=VERSION_TABLE, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, version_table=VERSION_TABLE, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    from outreach.store import make_engine

    engine = make_engine(_url())
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection, version_table=VERSION_TABLE, render_as_batch=True
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


def _url() -> str:
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from common.settings import get_settings

    return get_settings().queue_database_url


if context.is_offline_mode():
    run_offline(_url())
else:
    run_online()
