"""The project's run index: ``.genarun/index.sqlite``.

Runs and their instances (status, timings, tokens, cost) for the history views and
``genarun runs``, and the results cache that makes a rerun free. The index is derived data:
every row comes from a run folder's ``run.json`` and ``journal.jsonl``, and
:func:`genarun_studio.store.rebuild.rebuild_index` recreates it from them.

The schema is versioned with SQLite's ``user_version``; :data:`MIGRATIONS` upgrades an older
file in place, one step at a time, inside a transaction.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from genarun_studio.errors import RunError

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "IndexDamaged", "RunIndex"]

MIGRATIONS: list[str] = [
    # 1: runs, instances, results
    """
    CREATE TABLE runs (
        run_id TEXT PRIMARY KEY,
        tree_id TEXT NOT NULL,
        tree_name TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL,
        mock INTEGER NOT NULL DEFAULT 0,
        seed INTEGER,
        started_at REAL,
        ended_at REAL,
        wall_s REAL,
        total INTEGER NOT NULL DEFAULT 0,
        done INTEGER NOT NULL DEFAULT 0,
        cached INTEGER NOT NULL DEFAULT 0,
        failed INTEGER NOT NULL DEFAULT 0,
        skipped INTEGER NOT NULL DEFAULT 0,
        input_tokens INTEGER NOT NULL DEFAULT 0,
        output_tokens INTEGER NOT NULL DEFAULT 0,
        images INTEGER NOT NULL DEFAULT 0,
        cost_usd REAL NOT NULL DEFAULT 0,
        inputs_json TEXT NOT NULL DEFAULT '{}',
        run_dir TEXT NOT NULL
    );
    CREATE INDEX runs_by_start ON runs (started_at DESC);
    CREATE INDEX runs_by_tree ON runs (tree_id, started_at DESC);
    CREATE TABLE instances (
        run_id TEXT NOT NULL,
        key TEXT NOT NULL,
        node_id TEXT NOT NULL,
        type TEXT NOT NULL DEFAULT '',
        lane TEXT NOT NULL DEFAULT '',
        state TEXT NOT NULL,
        started_at REAL,
        ended_at REAL,
        duration_s REAL,
        attempts INTEGER NOT NULL DEFAULT 0,
        input_tokens INTEGER NOT NULL DEFAULT 0,
        output_tokens INTEGER NOT NULL DEFAULT 0,
        images INTEGER NOT NULL DEFAULT 0,
        cost_usd REAL NOT NULL DEFAULT 0,
        signature TEXT,
        cached_from TEXT,
        error TEXT,
        assets_json TEXT NOT NULL DEFAULT '[]',
        PRIMARY KEY (run_id, key)
    );
    CREATE INDEX instances_by_node ON instances (run_id, node_id);
    CREATE TABLE results (
        signature TEXT PRIMARY KEY,
        run_id TEXT NOT NULL,
        output_json TEXT NOT NULL,
        assets_json TEXT NOT NULL DEFAULT '[]',
        run_dir TEXT,
        created_at REAL NOT NULL
    );
    """,
    # 2: an estimated cost beside the actual one
    """
    ALTER TABLE runs ADD COLUMN est_cost_usd REAL;
    """,
    # 3: the model(s) an instance called, for costs per model
    """
    ALTER TABLE instances ADD COLUMN model TEXT NOT NULL DEFAULT '';
    CREATE TABLE node_estimates (
        run_id TEXT NOT NULL,
        node_id TEXT NOT NULL,
        est_cost_usd REAL NOT NULL,
        PRIMARY KEY (run_id, node_id)
    );
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)

_RUN_COLUMNS = (
    "run_id", "tree_id", "tree_name", "status", "mock", "seed", "started_at", "ended_at",
    "wall_s", "total", "done", "cached", "failed", "skipped", "input_tokens", "output_tokens",
    "images", "cost_usd", "inputs_json", "run_dir", "est_cost_usd",
)  # fmt: skip


class IndexDamaged(RunError):
    """The index file is not a usable SQLite database (it can be rebuilt)."""


class RunIndex:
    """One SQLite file per project. Safe to use from one thread at a time per instance."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise IndexDamaged(
                f"the project's index {path} is damaged ({exc}); `genarun runs rebuild` "
                "makes it again from the run folders"
            ) from None

    @property
    def version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def data_version(self) -> int:
        """A number that changes when another connection — another process: ``genarun
        run``, ``resume``, the hook server's runs — commits to the index (SQLite's
        ``PRAGMA data_version``; this connection's own writes leave it as it is)."""
        with self._lock:
            return int(self._db.execute("PRAGMA data_version").fetchone()[0])

    def _migrate(self) -> None:
        with self._lock:
            current = self.version
            if current > SCHEMA_VERSION:
                raise RuntimeError(
                    f"{self.path} was written by a newer Genarun (schema {current}, this one "
                    f"knows {SCHEMA_VERSION}); upgrade Genarun"
                )
            for version in range(current, SCHEMA_VERSION):
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    for statement in _statements(MIGRATIONS[version]):
                        self._db.execute(statement)
                    self._db.execute(f"PRAGMA user_version = {version + 1}")
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        self._db.close()

    # -- writing ---------------------------------------------------------------------------

    def record_run(self, meta: dict[str, Any], run_dir: str) -> None:
        """Insert or update a run from its ``run.json`` content."""
        counts = meta.get("instances") or {}
        usage = meta.get("usage") or {}
        row = {
            "run_id": meta["run_id"],
            "tree_id": meta.get("tree_id", ""),
            "tree_name": meta.get("tree_name") or "",
            "status": meta.get("status", "unknown"),
            "mock": 1 if meta.get("mock") else 0,
            "seed": meta.get("seed"),
            "started_at": meta.get("started_at"),
            "ended_at": meta.get("ended_at"),
            "wall_s": meta.get("wall_s"),
            "total": sum(int(v) for v in counts.values()),
            "done": int(counts.get("done", 0)),
            "cached": int(counts.get("cached", 0)),
            "failed": int(counts.get("failed", 0)),
            "skipped": int(counts.get("skipped", 0)),
            "input_tokens": int(usage.get("input_tokens", 0)),
            "output_tokens": int(usage.get("output_tokens", 0)),
            "images": int(usage.get("images", 0)),
            "cost_usd": float(meta.get("cost_usd") or 0.0),
            "inputs_json": json.dumps(meta.get("inputs") or {}, ensure_ascii=False, default=str),
            "run_dir": run_dir,
            "est_cost_usd": meta.get("est_cost_usd"),
        }
        names = ", ".join(_RUN_COLUMNS)
        marks = ", ".join(f":{c}" for c in _RUN_COLUMNS)
        updates = ", ".join(f"{c} = excluded.{c}" for c in _RUN_COLUMNS if c != "run_id")
        with self._lock:
            self._db.execute(
                f"INSERT INTO runs ({names}) VALUES ({marks}) "
                f"ON CONFLICT (run_id) DO UPDATE SET {updates}",
                row,
            )

    def record_instance(
        self,
        run_id: str,
        record: dict[str, Any],
        run_dir: str | None = None,
    ) -> None:
        """Insert or update one instance from its journal record (and cache its result)."""
        usage = record.get("usage") or {}
        models = sorted(
            {
                str(c["model"])
                for c in record.get("calls") or []
                if isinstance(c, dict) and c.get("model")
            }
        )
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO instances (run_id, key, node_id, type, lane, state, "
                "started_at, ended_at, duration_s, attempts, input_tokens, output_tokens, "
                "images, cost_usd, signature, cached_from, error, assets_json, model) VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    record["key"],
                    record["node_id"],
                    record.get("type", ""),
                    record.get("lane", ""),
                    record["state"],
                    record.get("started_at"),
                    record.get("ended_at"),
                    record.get("duration_s"),
                    record.get("attempts", 0),
                    usage.get("input_tokens", 0),
                    usage.get("output_tokens", 0),
                    usage.get("images", 0),
                    record.get("cost_usd", 0.0),
                    record.get("signature"),
                    record.get("cached_from"),
                    record.get("error"),
                    json.dumps(record.get("assets") or []),
                    ", ".join(models),
                ),
            )
            if record["state"] == "done" and record.get("signature") and record.get("cache", True):
                self._db.execute(
                    "INSERT OR REPLACE INTO results (signature, run_id, output_json, assets_json,"
                    " run_dir, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        record["signature"],
                        run_id,
                        json.dumps(record.get("output"), ensure_ascii=False, default=str),
                        json.dumps(record.get("assets") or []),
                        run_dir,
                        record.get("ended_at") or time.time(),
                    ),
                )

    def set_estimate(
        self, run_id: str, est_cost_usd: float | None, per_node: dict[str, float] | None = None
    ) -> None:
        """Record a run's estimated cost (a dry run of it), in total and per node, shown
        beside the actual one. The editor also keeps it in the run folder (``estimate.json``,
        :func:`~genarun_studio.store.rebuild.save_estimate`), where a rebuild finds it."""
        with self.transaction() as db:
            db.execute("UPDATE runs SET est_cost_usd = ? WHERE run_id = ?", (est_cost_usd, run_id))
            db.execute("DELETE FROM node_estimates WHERE run_id = ?", (run_id,))
            db.executemany(
                "INSERT INTO node_estimates (run_id, node_id, est_cost_usd) VALUES (?, ?, ?)",
                [(run_id, node, float(usd)) for node, usd in (per_node or {}).items()],
            )

    def node_estimates(self, run_id: str) -> dict[str, float]:
        """The per-node estimate recorded by :meth:`set_estimate` (empty: none)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT node_id, est_cost_usd FROM node_estimates WHERE run_id = ?", (run_id,)
            ).fetchall()
        return {str(r[0]): float(r[1]) for r in rows}

    def delete_run(self, run_id: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM instances WHERE run_id = ?", (run_id,))
            db.execute("DELETE FROM results WHERE run_id = ?", (run_id,))
            db.execute("DELETE FROM node_estimates WHERE run_id = ?", (run_id,))
            db.execute("DELETE FROM runs WHERE run_id = ?", (run_id,))

    # -- reading ---------------------------------------------------------------------------

    def result(self, signature: str) -> dict[str, Any] | None:
        """The cached result for a signature: ``output``, ``run_id``, ``run_dir``, ``assets``."""
        with self._lock:
            row = self._db.execute(
                "SELECT run_id, output_json, assets_json, run_dir FROM results WHERE signature = ?",
                (signature,),
            ).fetchone()
        if row is None:
            return None
        return {
            "output": json.loads(row["output_json"]),
            "run_id": row["run_id"],
            "run_dir": row["run_dir"],
            "assets": json.loads(row["assets_json"]),
        }

    def runs(
        self, tree_id: str | None = None, limit: int | None = None, status: str | None = None
    ) -> list[dict[str, Any]]:
        """Runs, newest first."""
        where, args = [], []
        if tree_id:
            where.append("tree_id = ?")
            args.append(tree_id)
        if status:
            where.append("status = ?")
            args.append(status)
        sql = "SELECT * FROM runs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY started_at DESC, run_id DESC"
        if limit:
            sql += f" LIMIT {int(limit)}"
        with self._lock:
            cursor = self._db.execute(sql, args)
            cursor.row_factory = None  # plain tuples: half the cost of sqlite3.Row at 10k rows
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor]

    def run(self, run_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return dict(row) if row else None

    def instances(self, run_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [
                dict(r)
                for r in self._db.execute(
                    "SELECT * FROM instances WHERE run_id = ? ORDER BY started_at, key", (run_id,)
                )
            ]

    def node_stats(self, run_id: str) -> list[dict[str, Any]]:
        """Per node: instances, states, total / mean duration, tokens, cost, retries."""
        with self._lock:
            return [
                dict(r)
                for r in self._db.execute(
                    """
                SELECT node_id, type, lane, COUNT(*) AS instances,
                       SUM(state = 'done') AS done, SUM(state = 'cached') AS cached,
                       SUM(state = 'failed') AS failed, SUM(state = 'skipped') AS skipped,
                       SUM(COALESCE(duration_s, 0)) AS total_s,
                       AVG(CASE WHEN state = 'done' THEN duration_s END) AS mean_s,
                       SUM(input_tokens) AS input_tokens, SUM(output_tokens) AS output_tokens,
                       SUM(images) AS images, SUM(cost_usd) AS cost_usd,
                       SUM(MAX(attempts - 1, 0)) AS retries
                FROM instances WHERE run_id = ? GROUP BY node_id ORDER BY MIN(started_at)
                """,
                    (run_id,),
                )
            ]

    # -- costs -----------------------------------------------------------------------------

    def cost_by_tree(self) -> list[dict[str, Any]]:
        """Per tree: runs, instances, tokens, actual cost, and the estimates recorded
        (``est_cost_usd`` sums the runs that have one; ``estimated_runs`` counts them)."""
        return self._rows(
            """
            SELECT tree_id, COUNT(*) AS runs, SUM(total) AS instances,
                   SUM(input_tokens) AS input_tokens, SUM(output_tokens) AS output_tokens,
                   SUM(images) AS images, SUM(cost_usd) AS cost_usd,
                   SUM(est_cost_usd) AS est_cost_usd, COUNT(est_cost_usd) AS estimated_runs,
                   SUM(mock) AS mock_runs, MAX(started_at) AS last_started
            FROM runs GROUP BY tree_id ORDER BY SUM(cost_usd) DESC, tree_id
            """
        )

    def cost_by_model(self) -> list[dict[str, Any]]:
        """Per model (``""``: instances that called none): instances, runs, tokens, cost."""
        return self._rows(
            """
            SELECT model, COUNT(*) AS instances, COUNT(DISTINCT run_id) AS runs,
                   SUM(input_tokens) AS input_tokens, SUM(output_tokens) AS output_tokens,
                   SUM(images) AS images, SUM(cost_usd) AS cost_usd
            FROM instances WHERE state != 'skipped'
            GROUP BY model ORDER BY SUM(cost_usd) DESC, model
            """
        )

    def cost_by_day(self) -> list[dict[str, Any]]:
        """Per local day a run started (``YYYY-MM-DD``), oldest first: runs, actual and
        estimated cost."""
        return self._rows(
            """
            SELECT date(started_at, 'unixepoch', 'localtime') AS day, COUNT(*) AS runs,
                   SUM(cost_usd) AS cost_usd, SUM(est_cost_usd) AS est_cost_usd,
                   COUNT(est_cost_usd) AS estimated_runs
            FROM runs WHERE started_at IS NOT NULL GROUP BY day ORDER BY day
            """
        )

    def _rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self._db.execute(sql, args)]


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]
