"""``genarun-studio --screenshot`` as docs and checks use it: a real process, no display."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

from PySide6 import QtGui

EXAMPLES = Path(__file__).parents[2] / "resources" / "examples"


def test_screenshot_renders_the_tree_and_touches_no_user_settings(tmp_path: Path) -> None:
    config = tmp_path / "config"
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "XDG_CONFIG_HOME": str(config),
        "HOME": str(tmp_path),
    }
    out = tmp_path / "shot.png"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "genarun_studio.qt.app",
            str(EXAMPLES / "lizard-blog.genarun.json"),
            "--screenshot",
            str(out),
            "--run",
            "--select",
            "hero",
            "--project",
            str(tmp_path / "project"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    image = QtGui.QImage(str(out))
    assert image.width() == 1600
    assert image.height() == 950
    assert not config.exists() or not any(config.rglob("*Genarun*"))
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)
    assert list((tmp_path / "project" / "trees" / "lizard-blog").glob("2*/output.json"))


def test_a_bad_tree_makes_the_screenshot_fail_clearly(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "genarun_studio.qt.app",
            str(bad),
            "--screenshot",
            str(tmp_path / "x.png"),
        ],
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "not valid JSON" in result.stderr


def test_screenshot_of_a_runs_assets(tmp_path: Path) -> None:
    from genarun_studio.store import Project
    from tests.qt.image_runs import image_tree, run_tree

    project = Project(tmp_path / "project")
    summary = run_tree(project, image_tree(6))
    project.close()
    out = tmp_path / "assets.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path)}
    command = [sys.executable, "-m", "genarun_studio.qt.app", "--project", str(project.root)]
    result = subprocess.run(
        [*command, "--screenshot", str(out), "--view", f"assets:{summary.run_id}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert not QtGui.QImage(str(out)).isNull()
    assert len(list((project.root / ".genarun" / "thumbs").glob("*.png"))) == 6
    missing = subprocess.run(
        [*command, "--screenshot", str(out), "--view", "assets:gallery/nope"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert missing.returncode == 2
    assert "no run 'gallery/nope'" in missing.stderr


def test_screenshots_of_logs_costs_and_a_comparison(tmp_path: Path) -> None:
    from genarun_studio.store import Project
    from tests.qt.image_runs import image_tree, run_tree

    project = Project(tmp_path / "project")
    first = run_tree(project, image_tree(2), seed=1)
    second = run_tree(project, image_tree(2), seed=2)
    project.close()
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path)}
    command = [sys.executable, "-m", "genarun_studio.qt.app", "--project", str(project.root)]
    for n, view in enumerate(
        (
            f"logs:{first.run_id},picture",
            "costs",
            f"compare:{first.run_id},{second.run_id},picture",
        )
    ):
        out = tmp_path / f"{n}.png"
        result = subprocess.run(
            [*command, "--screenshot", str(out), "--view", view],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        assert not QtGui.QImage(str(out)).isNull()
    bad = subprocess.run(
        [*command, "--screenshot", str(tmp_path / "x.png"), "--view", f"compare:{first.run_id}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2
    assert "compare:RUN_A,RUN_B,NODE" in bad.stderr


def test_the_dark_palette_shows_disabled_controls_as_disabled(qapp: Any) -> None:
    from PySide6 import QtGui

    from genarun_studio.qt.app import _dark

    before = qapp.palette()
    try:
        _dark(qapp)
        palette = qapp.palette()
        group, role = QtGui.QPalette.ColorGroup, QtGui.QPalette.ColorRole
        for r in (role.ButtonText, role.Text, role.WindowText):
            assert palette.color(group.Disabled, r) != palette.color(group.Active, r)
    finally:
        qapp.setPalette(before)


def test_screenshot_run_of_a_tree_that_asks_stops_at_the_question(tmp_path: Path) -> None:
    """``--run`` on a tree with a human node renders the waiting question (it used to wait
    for the run's end forever) and leaves the run ``waiting`` in the project."""

    from genarun_studio.human import open_requests

    project = tmp_path / "project"
    out = tmp_path / "answers.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path)}
    command = [sys.executable, "-m", "genarun_studio.qt.app", "--project", str(project)]
    result = subprocess.run(
        [*command, str(EXAMPLES / "story-choice.genarun.json"), "--screenshot", str(out), "--run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert not QtGui.QImage(str(out)).isNull()
    (meta_path,) = (project / "trees" / "story-choice").glob("2*/run.json")
    meta = json.loads(meta_path.read_text())
    assert (meta["status"], meta["pid"]) == ("waiting", None)
    assert [o.request.node_id for o in open_requests(project)] == ["choice"]
    unknown = subprocess.run(
        [*command, "--screenshot", str(out), "--view", "histroy"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert unknown.returncode == 2
    assert "unknown --view 'histroy'" in unknown.stderr
