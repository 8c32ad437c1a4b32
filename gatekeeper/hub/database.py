"""The hub's thin database layer: one API over SQLite (default) and PostgreSQL.

SQL is written once with ``?`` placeholders and portable types (TEXT, BIGINT, DOUBLE PRECISION,
BYTEA, ``INSERT ... ON CONFLICT DO NOTHING``, row-value comparisons); the PostgreSQL dialect only
swaps the placeholder. Connections are per thread (SQLite's and psycopg's are not shared).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any


class Database:
    """A SQLite file or a PostgreSQL database, named by ``url``.

    ``url`` is ``postgresql://...`` (or ``postgres://``), ``sqlite:///path``, or a plain path.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_postgres = url.startswith(("postgresql://", "postgres://"))
        self.path = None if self.is_postgres else Path(url.removeprefix("sqlite://"))
        self._local = threading.local()
        self._all: list[Any] = []
        self._all_lock = threading.Lock()

    # --- connections ----------------------------------------------------------------------------
    def _conn(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            with self._all_lock:
                self._all.append(conn)
        return conn

    def _connect(self) -> Any:
        if self.is_postgres:
            import psycopg
            return psycopg.connect(self.url, autocommit=True)
        assert self.path is not None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(self.path), timeout=30, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")  # an ack is a promise: the rows must survive a power cut
        conn.execute("PRAGMA busy_timeout=30000")
        # A statement that also runs triggers (the passage log's counts) keeps a statement journal:
        # in memory, not in a temporary file written for every batch.
        conn.execute("PRAGMA temp_store=MEMORY")
        return conn

    def close(self) -> None:
        """Close every connection this object opened, in any thread."""
        with self._all_lock:
            for conn in self._all:
                # Closing a broken connection must not hide the error that broke it.
                with suppress(Exception):
                    conn.close()
            self._all.clear()
        self._local = threading.local()

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.is_postgres else sql

    # --- statements -----------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        """One transaction: committed when the block ends, rolled back on any exception.

        SQLite takes the write lock at the start (``BEGIN IMMEDIATE``) so two writers never
        deadlock upgrading a read lock.
        """
        conn = self._conn()
        if self.is_postgres:
            with conn.transaction():
                yield Tx(self, conn)
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield Tx(self, conn)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        """Every row of a read, outside a transaction."""
        return self._conn().execute(self._sql(sql), params).fetchall()

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple | None:
        return self._conn().execute(self._sql(sql), params).fetchone()


class Tx:
    """Statements inside one transaction."""

    def __init__(self, db: Database, conn: Any) -> None:
        self.db, self.conn = db, conn

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Execute; the number of rows changed."""
        return self.conn.execute(self.db._sql(sql), params).rowcount

    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            if self.db.is_postgres:
                with self.conn.cursor() as cur:
                    cur.executemany(self.db._sql(sql), rows)
            else:
                self.conn.executemany(sql, rows)

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        return self.conn.execute(self.db._sql(sql), params).fetchall()

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple | None:
        return self.conn.execute(self.db._sql(sql), params).fetchone()

    @property
    def for_update(self) -> str:
        """Row locking for PostgreSQL replicas; SQLite's write lock already serialises."""
        return " FOR UPDATE" if self.db.is_postgres else ""
