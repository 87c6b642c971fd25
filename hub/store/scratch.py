"""A PostgreSQL schema made for one run (a bench, a test) and dropped after it: each run
starts on an empty database without needing a database of its own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import sqlalchemy as sa


def schema_url(server_url: str, schema: str) -> str:
    """``server_url`` with connections that use ``schema`` (their search_path)."""
    sep = "&" if "?" in server_url else "?"
    return f"{server_url}{sep}options={quote(f'-csearch_path={schema}')}"


@contextmanager
def scratch_schema(server_url: str, prefix: str) -> Iterator[str]:
    """A new schema ``PREFIX_<random>`` on the PostgreSQL server ``server_url`` names, dropped
    with everything in it afterwards; yields the URL whose connections use it."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        try:
            yield schema_url(server_url, schema)
        finally:
            with admin.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()
