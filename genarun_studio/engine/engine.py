"""The entry point for running trees: :class:`Engine` makes :class:`Run` objects."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from genarun_studio.core.registry import Registry, default_registry
from genarun_studio.core.tree import Tree
from genarun_studio.engine.cache import MemoryCache, ResultCache
from genarun_studio.engine.inputs import resolve_inputs
from genarun_studio.engine.run import Run, RunOptions, RunSummary
from genarun_studio.providers.base import Provider
from genarun_studio.providers.registry import ProviderFactory, ProviderSet
from genarun_studio.store.project import Project
from genarun_studio.store.runfolder import RunFolder

__all__ = ["Engine"]


class Engine:
    """Runs trees. Qt-free; the CLI, the editor and the server all drive it the same way.

    ``project`` is where run folders go (a temporary folder when None); ``cache`` is asked
    before every model call (one in-memory cache per engine by default, so reruns in the
    same process cost nothing); ``providers`` maps provider names to factories
    (``mock_provider`` replaces the default mock, e.g. to add latency).
    """

    def __init__(
        self,
        *,
        project: Project | None = None,
        registry: Registry | None = None,
        cache: ResultCache | None = None,
        providers: dict[str, ProviderFactory] | None = None,
        mock_provider: Provider | None = None,
    ) -> None:
        self.project = project
        self.registry = registry or default_registry()
        self.cache: ResultCache = cache if cache is not None else MemoryCache()
        self.provider_factories = providers
        self.mock_provider = mock_provider
        self._scratch: Path | None = None

    def prepare(
        self,
        tree: Tree,
        inputs: dict[str, Any] | None = None,
        options: RunOptions | None = None,
        *,
        tree_id: str | None = None,
    ) -> Run:
        """Check inputs and options and make the run folder; raises InputError / RunError.

        Nothing executes until :meth:`Run.start` (or :meth:`Run.wait`).
        """
        options = options or RunOptions()
        resolved = resolve_inputs(tree, dict(inputs or {}))
        tree_id = tree_id or tree.id or "tree"
        folder = self._folder(tree, tree_id)
        return Run(
            tree,
            tree_id=tree_id,
            inputs=resolved,
            options=options,
            registry=self.registry,
            providers=ProviderSet(
                self.provider_factories, mock=options.mock, mock_provider=self.mock_provider
            ),
            cache=self.cache,
            folder=folder,
        )

    def start(
        self,
        tree: Tree,
        inputs: dict[str, Any] | None = None,
        options: RunOptions | None = None,
        *,
        tree_id: str | None = None,
    ) -> Run:
        """:meth:`prepare` and start on the running loop."""
        run = self.prepare(tree, inputs, options, tree_id=tree_id)
        run.start()
        return run

    async def run(
        self,
        tree: Tree,
        inputs: dict[str, Any] | None = None,
        options: RunOptions | None = None,
        *,
        tree_id: str | None = None,
    ) -> RunSummary:
        """Run a tree to its end."""
        return await self.start(tree, inputs, options, tree_id=tree_id).wait()

    def _folder(self, tree: Tree, tree_id: str) -> RunFolder:
        if self.project is None:
            if self._scratch is None:
                self._scratch = Path(tempfile.mkdtemp(prefix="genarun-"))
            return Project(self._scratch).new_run(tree, tree_id)
        return self.project.new_run(tree, tree_id)
