"""The SQLite connection under :class:`~crossid_desktop.gallery.store.GalleryStore`: opening,
transactions, schema migrations, and reads that turn SQLite's failures into GalleryError."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from crossid_desktop.errors import GalleryError
from crossid_desktop.gallery.schema import MIGRATIONS, Migration

#: ids bound per ``IN (...)`` query (SQLite allows 999 variables in old builds)
IN_CHUNK = 500


class GalleryDatabase:
    """The gallery database at ``db_path`` (created when missing): its connection and transactions."""

    def __init__(self, db_path: Path) -> None:
        self._path = Path(db_path)
        self._lock = threading.RLock()
        self._savepoints = 0
        if not self._path.parent.is_dir():
            raise GalleryError(f"The folder {self._path.parent} of the gallery database does not exist.")
        try:
            # isolation_level=None: no implicit transactions; transaction() issues BEGIN itself.
            self._conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise GalleryError(f"The gallery database {self._path} cannot be opened ({exc}).") from exc
        self._conn.row_factory = sqlite3.Row
        try:
            self._conn.execute("PRAGMA busy_timeout = 10000")
            self._conn.execute("PRAGMA foreign_keys = ON")
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            raise GalleryError(
                f"The gallery database {self._path} cannot be read ({exc}); it may be damaged or not a CrossID gallery."
            ) from exc
        except BaseException:
            self._conn.close()
            raise

    @property
    def connection(self) -> sqlite3.Connection:
        """The store's connection, for reading other modules' tables; write via :meth:`transaction`."""
        return self._conn

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``with store.transaction() as conn:``: everything inside commits together or not at all.

        Nested use makes a savepoint, so a store method called inside a caller's transaction
        joins it. An exception inside rolls back and propagates unchanged.
        """
        with self._lock:
            nested = self._conn.in_transaction
            name = f"sp{self._savepoints + 1}"
            with self._guard("start a change to"):
                self._conn.execute(f"SAVEPOINT {name}" if nested else "BEGIN IMMEDIATE")
            self._savepoints += nested
            try:
                yield self._conn
                with self._guard("save a change to"):
                    self._conn.execute(f"RELEASE {name}" if nested else "COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute(f"ROLLBACK TO {name}" if nested else "ROLLBACK")
                    if nested:
                        self._conn.execute(f"RELEASE {name}")
                raise
            finally:
                self._savepoints -= nested

    @contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        """Turn SQLite's operational failures (locked, damaged, disk full) into GalleryError."""
        with self._lock:
            try:
                yield
            except sqlite3.IntegrityError:
                raise
            except sqlite3.DatabaseError as exc:
                raise GalleryError(f"Could not {action} the gallery database {self._path} ({exc}).") from exc

    def _migrate(self) -> None:
        version = self._conn.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise GalleryError(f"The gallery database {self._path} is from a newer CrossID Desktop; update the application.")
        if version == 0:
            tables = {r[0] for r in self._conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if tables - {"sqlite_sequence"}:
                raise GalleryError(f"The database {self._path} is not a CrossID gallery (it holds other tables).")
        for number, migration in enumerate(MIGRATIONS[version:], start=version + 1):
            with self.transaction() as conn:
                _apply(conn, migration)
                conn.execute(f"PRAGMA user_version = {number}")

    def ensure_schema(self, component: str, migrations: Sequence[Migration]) -> None:
        """Apply the not yet applied ``migrations`` of another module (e.g. ``"cases"``).

        The component's version (how many of its migrations ran) is kept in the table
        ``schema_components``; a database with more than ``len(migrations)`` is refused.
        """
        with self.transaction() as conn:
            row = conn.execute("SELECT version FROM schema_components WHERE component = ?", (component,)).fetchone()
            version = row[0] if row else 0
            if version > len(migrations):
                raise GalleryError(f"The {component} data in {self._path} is from a newer CrossID Desktop; update the application.")
            for migration in migrations[version:]:
                _apply(conn, migration)
            conn.execute(
                "INSERT INTO schema_components (component, version) VALUES (?, ?) "
                "ON CONFLICT(component) DO UPDATE SET version = excluded.version",
                (component, len(migrations)),
            )

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """``with store.snapshot() as conn:``: several reads that see one committed state (WAL)."""
        with self._lock:
            if self._conn.in_transaction:  # inside a caller's transaction: it is the snapshot
                yield self._conn
                return
            with self._guard("read"):
                self._conn.execute("BEGIN DEFERRED")
            try:
                yield self._conn
            finally:
                if self._conn.in_transaction:
                    self._conn.execute("COMMIT")

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._guard("read"):
            return self._conn.execute(sql, tuple(params)).fetchall()

    def _query_ids(self, sql: str, ids: Sequence[Any], params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """``sql`` with ``{marks}`` standing for the placeholders of a chunk of ``ids``, run per chunk."""
        rows: list[sqlite3.Row] = []
        for start in range(0, len(ids), IN_CHUNK):
            chunk = list(ids[start : start + IN_CHUNK])
            rows += self._query(sql.format(marks=",".join("?" * len(chunk))), (*params, *chunk))
        return rows

    def _one(self, sql: str, key: str | int) -> sqlite3.Row:
        """The row of the subject or image ``key``; GalleryError when there is none."""
        rows = self._query(sql, (key,))
        if not rows:
            what = f"image number {key}" if isinstance(key, int) else f"subject {key!r}"
            raise GalleryError(f"The gallery has no {what}.")
        return rows[0]


def _apply(conn: sqlite3.Connection, migration: Migration) -> None:
    if callable(migration):
        migration(conn)
    else:
        for statement in migration:
            conn.execute(statement)
