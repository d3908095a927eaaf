"""Compare one node's output between two runs, side by side.

:class:`RunCompare` takes two runs of the project's index and a node id. The outputs come
from each run's journal (the last record per instance), matched by instance key (runs of
one tree give their instances the same keys). For every key it shows:

* text and JSON outputs (JSON pretty-printed) as a side-by-side ``difflib.HtmlDiff`` table,
  changes marked; identical outputs as one line saying so;
* images (the instance's asset files) next to each other;
* keys found in only one of the runs, and failures with their errors.

The comparison itself is Qt-free: :mod:`genarun_studio.store.compare`.
"""

from __future__ import annotations

import difflib
import html
import re
from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from genarun_studio.store.compare import Comparison, compare_node, compared_value, output_text
from genarun_studio.store.index import RunIndex

__all__ = ["RunCompare"]

IMAGE_WIDTH = 320
"""Pixels an image is shown wide in the comparison."""
MAX_CHOICES = 500
"""Runs offered when no run is given (the newest)."""


_NEXT_LINKS = re.compile(r'<t([dh]) class="diff_next"[^>]*>.*?</t\1>', re.DOTALL)
_STYLE = """
table.diff { border-collapse: collapse; }
td { padding: 1px 4px; font-family: monospace; vertical-align: top; }
.diff_header { color: #7d8590; }
.diff_next { color: #7d8590; }
.diff_add { background-color: #1f4d2c; }
.diff_chg { background-color: #5a4a12; }
.diff_sub { background-color: #5a1e1e; }
h3 { margin: 12px 0 4px 0; }
"""


class RunCompare(QDialog):
    """Two runs and a node: the node's outputs side by side (see the module docstring)."""

    def __init__(
        self,
        index: RunIndex,
        run_a: str | None = None,
        run_b: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Compare runs")
        self._index = index
        self.comparisons: list[Comparison] = []
        self.run_a = QComboBox(self)
        self.run_b = QComboBox(self)
        self.node_combo = QComboBox(self)
        for combo in (self.run_a, self.run_b, self.node_combo):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        for run in self._choices(index, run_a, run_b):
            label = f"{run['run_id']} ({run['status']})"
            self.run_a.addItem(label, run["run_id"])
            self.run_b.addItem(label, run["run_id"])
        self.summary = QLabel(self)
        self.view = QTextBrowser(self)
        self.view.setOpenLinks(False)
        self.view.document().setDefaultStyleSheet(_STYLE)

        bar = QHBoxLayout()
        bar.addWidget(QLabel("Run", self))
        bar.addWidget(self.run_a)
        bar.addWidget(QLabel("against", self))
        bar.addWidget(self.run_b)
        bar.addWidget(QLabel("node", self))
        bar.addWidget(self.node_combo)
        bar.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.summary)
        layout.addWidget(self.view, 1)
        self.resize(1200, 760)

        for combo, run_id in ((self.run_a, run_a), (self.run_b, run_b)):
            if run_id is not None and combo.findData(run_id) >= 0:
                combo.setCurrentIndex(combo.findData(run_id))
        if run_b is None and self.run_b.count() > 1:  # the run before A of the same tree
            self.run_b.setCurrentIndex(self._previous_of(self.run_a.currentData()))
        self.run_a.currentIndexChanged.connect(self._fill_nodes)
        self.run_b.currentIndexChanged.connect(self._fill_nodes)
        self.node_combo.currentIndexChanged.connect(self._show)
        self._fill_nodes()

    @staticmethod
    def _choices(index: RunIndex, run_a: str | None, run_b: str | None) -> list[dict[str, Any]]:
        """The runs offered: those of the given runs' trees (a comparison is between runs
        of one tree, usually), else the newest :data:`MAX_CHOICES`, newest first."""
        trees = {r.partition("/")[0] for r in (run_a, run_b) if r}
        if not trees:
            return index.runs(limit=MAX_CHOICES)
        runs = [run for tree in sorted(trees) for run in index.runs(tree_id=tree)]
        runs.sort(key=lambda r: (r["started_at"] or 0.0, r["run_id"]), reverse=True)
        return runs

    def _previous_of(self, run_id: str | None) -> int:
        runs = [self.run_a.itemData(i) for i in range(self.run_a.count())]
        if run_id not in runs:
            return 0
        tree = str(run_id).partition("/")[0]
        for position in range(runs.index(run_id) + 1, len(runs)):
            if str(runs[position]).partition("/")[0] == tree:
                return position
        return min(runs.index(run_id) + 1, len(runs) - 1)

    def set_runs(self, run_a: str, run_b: str, node_id: str | None = None) -> None:
        """Compare ``run_a`` with ``run_b`` (on ``node_id``, else the first node)."""
        for combo, run_id in ((self.run_a, run_a), (self.run_b, run_b)):
            combo.blockSignals(True)
            combo.setCurrentIndex(combo.findData(run_id))
            combo.blockSignals(False)
        self._fill_nodes()
        if node_id is not None:
            self.set_node(node_id)

    def set_node(self, node_id: str) -> None:
        self.node_combo.setCurrentIndex(self.node_combo.findData(node_id))

    def _fill_nodes(self, *_args: object) -> None:
        current = self.node_combo.currentData()
        nodes: list[str] = []
        for combo in (self.run_a, self.run_b):
            run_id = combo.currentData()
            if run_id:
                nodes.extend(str(n["node_id"]) for n in self._index.node_stats(run_id))
        nodes = list(dict.fromkeys(nodes))
        self.node_combo.blockSignals(True)
        self.node_combo.clear()
        for node in nodes:
            self.node_combo.addItem(node, node)
        if current in nodes:
            self.node_combo.setCurrentIndex(nodes.index(current))
        self.node_combo.blockSignals(False)
        self._show()

    def _show(self, *_args: object) -> None:
        run_a, run_b = self.run_a.currentData(), self.run_b.currentData()
        node = self.node_combo.currentData()
        if not run_a or not run_b or not node:
            self.comparisons = []
            self.summary.setText("Choose two runs and a node")
            self.view.setHtml("")
            return
        self.comparisons = compare_node(self._index, run_a, run_b, node)
        counts = {kind: 0 for kind in ("same", "differ", "only_a", "only_b")}
        for comparison in self.comparisons:
            counts[comparison.kind] += 1
        self.summary.setText(
            f"{node}: {len(self.comparisons)} "
            f"{'instance' if len(self.comparisons) == 1 else 'instances'} — "
            f"{counts['differ']} differ, "
            f"{counts['same']} identical, {counts['only_a']} only in the first run, "
            f"{counts['only_b']} only in the second"
        )
        self.view.setHtml(self.html(run_a, run_b))

    def html(self, run_a: str, run_b: str) -> str:
        differ = difflib.HtmlDiff(wrapcolumn=70)
        parts: list[str] = []
        for item in self.comparisons:
            parts.append(f"<h3>{html.escape(item.key)}</h3>")
            if item.kind == "only_a":
                parts.append(f"<p><i>only in {html.escape(run_a)}</i></p>")
            elif item.kind == "only_b":
                parts.append(f"<p><i>only in {html.escape(run_b)}</i></p>")
            if item.images_a or item.images_b:
                cells = []
                for images in (item.images_a, item.images_b):
                    tags = "".join(
                        f'<img src="{html.escape(p.as_uri())}" width="{IMAGE_WIDTH}"><br>'
                        f"<small>{html.escape(p.name)}</small><br>"
                        for p in images
                        if p.is_file()
                    )
                    cells.append(f"<td>{tags or '<i>no image</i>'}</td>")
                parts.append(f"<table><tr>{''.join(cells)}</tr></table>")
                continue
            if item.kind == "same":
                parts.append("<p><i>identical</i></p>")
                continue
            a = output_text(compared_value(item.a)).splitlines() if item.a is not None else []
            b = output_text(compared_value(item.b)).splitlines() if item.b is not None else []
            table = differ.make_table(a, b, run_a, run_b)
            table = _NEXT_LINKS.sub("", table)  # difflib's "next change" links
            table = table.replace('<td class="diff_header"', '<td class="diff_header" width="28"')
            parts.append(table.replace('<table class="diff"', '<table class="diff" width="100%"'))
        return "".join(parts) or "<p><i>This node has no instances in either run</i></p>"
