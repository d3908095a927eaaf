"""The entry point for running trees: :class:`Engine` makes :class:`Run` objects."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from genarun_studio.core.formats import loads_tree
from genarun_studio.core.registry import Registry, default_registry
from genarun_studio.core.tree import ModelProfile, Tree
from genarun_studio.engine.cache import MemoryCache, ProjectCache, ResultCache
from genarun_studio.engine.cost import Pricing
from genarun_studio.engine.inputs import resolve_inputs
from genarun_studio.engine.run import Run, RunOptions, RunSummary
from genarun_studio.errors import RunError
from genarun_studio.profiles import with_profiles
from genarun_studio.providers.base import Provider, Usage
from genarun_studio.providers.registry import ProviderFactory, ProviderSet
from genarun_studio.store.history import effective_status, process_alive
from genarun_studio.store.project import Project
from genarun_studio.store.rebuild import latest_records
from genarun_studio.store.runfolder import RunFolder

__all__ = ["Engine"]


class Engine:
    """Runs trees. Qt-free; the CLI, the editor and the server all drive it the same way.

    ``project`` is where run folders go (a temporary folder when None). ``cache`` is asked
    before every model call; by default it is the project's index (every earlier run of the
    project), or an in-memory cache without a project. ``providers`` maps provider names to
    factories (``mock_provider`` replaces the default mock, e.g. to add latency).
    ``profiles`` are the user's model profiles (:func:`genarun_studio.profiles.load_profiles`).
    """

    def __init__(
        self,
        *,
        project: Project | None = None,
        registry: Registry | None = None,
        cache: ResultCache | None = None,
        providers: dict[str, ProviderFactory] | None = None,
        mock_provider: Provider | None = None,
        pricing: Pricing | None = None,
        profiles: dict[str, ModelProfile] | None = None,
    ) -> None:
        self.project = project
        self.profiles = dict(profiles or {})
        """The user's model profiles, used where a tree defines none of that name."""
        self.registry = registry or default_registry()
        if cache is None:
            index = project.index if project is not None else None
            cache = ProjectCache(index) if index is not None else MemoryCache()
        self.cache: ResultCache = cache
        self.provider_factories = providers
        self.mock_provider = mock_provider
        self.pricing = pricing or Pricing.load(project.root if project else None)
        self._scratch: Project | None = None

    def _providers(self, options: RunOptions) -> ProviderSet:
        return ProviderSet(
            self.provider_factories,
            mock=options.mock or options.dry_run,
            mock_provider=self.mock_provider,
        )

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
        tree = with_profiles(tree, self.profiles)  # recorded in the run's tree snapshot
        resolved = resolve_inputs(tree, dict(inputs or {}))
        known = {node.id for node in tree.walk()}
        unknown = [t for t in options.targets if t not in known]
        if unknown:  # refused before a run folder exists
            raise RunError(f"no node with id {', '.join(map(repr, unknown))} in the tree")
        tree_id = tree_id or tree.id or "tree"
        folder = self._folder(tree, tree_id, scratch=options.dry_run)
        return Run(
            tree,
            tree_id=tree_id,
            inputs=resolved,
            options=options,
            registry=self.registry,
            providers=self._providers(options),
            cache=MemoryCache() if options.dry_run else self.cache,
            folder=folder,
            pricing=self.pricing,
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

    def prepare_resume(
        self, run_id: str, *, budget_usd: float | None = None, auto_answer: bool | None = None
    ) -> Run:
        """A run that continues ``run_id`` from its journal, in the same folder.

        Finished instances are taken from the journal (never called again); failed, stopped
        and unstarted ones run. The tree, inputs, seed and options are the run's own.
        """
        if self.project is None:
            raise RunError("resuming needs a project folder")
        folder = self.project.run_folder(run_id)
        try:
            meta = folder.read("run.json")
            tree = loads_tree(
                (folder.path / "tree.json").read_bytes(),
                file=str(folder.path / "tree.json"),
                registry=self.registry,
            )
        except FileNotFoundError as exc:
            raise RunError(f"run {run_id!r} cannot be resumed: {exc.filename} is missing") from None
        status = effective_status({"status": meta.get("status", ""), "run_dir": folder.path})
        if status in ("running", "paused"):
            raise RunError(
                f"run {run_id!r} is still going (process {meta.get('pid')}); stop it "
                "first, then resume"
            )
        pid = meta.get("pid")
        if status == "waiting" and isinstance(pid, int) and process_alive(pid):
            raise RunError(
                f"run {run_id!r} is live in process {pid} and waits for answers: answer them "
                "(genarun answer) and it goes on by itself"
            )
        if status == "finished":
            raise RunError(f"run {run_id!r} has already finished: there is nothing to resume")
        options = RunOptions.model_validate({**meta.get("options", {}), "seed": meta["seed"]})
        if budget_usd is not None:
            options = options.model_copy(update={"budget_usd": budget_usd})
        if auto_answer is not None:
            options = options.model_copy(update={"auto_answer": auto_answer})
        records = latest_records(folder)
        prior = {r["key"]: r for r in records if r["state"] in ("done", "cached")}
        spent_usage, spent_cost = Usage(), 0.0
        for record in records:  # failed attempts of earlier sessions were paid for too
            if record["key"] not in prior:
                spent_usage = spent_usage + Usage.model_validate(record.get("usage") or {})
                spent_cost += float(record.get("cost_usd") or 0.0)
        return Run(
            tree,
            tree_id=meta["tree_id"],
            inputs=meta.get("inputs") or {},
            options=options,
            registry=self.registry,
            providers=self._providers(options),
            cache=self.cache,
            folder=folder,
            pricing=self.pricing,
            prior=prior,
            previous=meta,
            spent=(spent_usage, spent_cost),
        )

    def _folder(self, tree: Tree, tree_id: str, *, scratch: bool = False) -> RunFolder:
        if self.project is None or scratch:
            if self._scratch is None:
                self._scratch = Project(tempfile.mkdtemp(prefix="genarun-"), index=False)
            return self._scratch.new_run(tree, tree_id)
        return self.project.new_run(tree, tree_id)

    def discard_scratch(self) -> None:
        """Delete the temporary project of dry runs and project-less runs."""
        if self._scratch is not None:
            import shutil

            shutil.rmtree(self._scratch.root, ignore_errors=True)
            self._scratch = None

    @property
    def scratch_dir(self) -> Path | None:
        """The temporary project used for runs without a project and for dry runs."""
        return self._scratch.root if self._scratch else None
