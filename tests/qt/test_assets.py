"""The assets gallery against real mock runs: thumbnails made off the UI thread and cached."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QUrl
from PySide6.QtGui import QGuiApplication
from pytestqt.qtbot import QtBot

from genarun_studio.qt.panels.assets import AssetGallery, make_thumbnail, thumbnail_path
from genarun_studio.store import Project
from tests.qt.image_runs import image_tree, run_tree


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    project = Project(tmp_path / "project")
    yield project
    project.close()


def _gallery(qtbot: QtBot, project: Project) -> AssetGallery:
    gallery = AssetGallery(project.index)
    qtbot.addWidget(gallery)
    gallery.resize(900, 500)
    gallery.show()
    return gallery


def test_thumbnails_appear_with_node_and_prompt(qtbot: QtBot, project: Project) -> None:
    summary = run_tree(project, image_tree(12))
    gallery = _gallery(qtbot, project)
    assert gallery.show_run(summary.run_id)
    model = gallery.model
    assert model.rowCount() == 12
    assert "12 images" in gallery.title.text()
    qtbot.waitUntil(lambda: model.made == 12, timeout=20_000)
    assert model.pending == 0
    first = model.index(0, 0)
    assert first.data() == model.assets[0].key
    assert model.assets[0].node_id == "picture"
    assert "drawing of subject" in first.data(3)  # the tooltip holds the prompt
    pixmap = first.data(1)
    assert max(pixmap.width(), pixmap.height()) <= 160
    thumbs = project.root / ".genarun" / "thumbs"
    assert len(list(thumbs.glob("*.png"))) == 12
    assert thumbnail_path(thumbs, model.assets[0].path).is_file()


def test_the_disk_cache_is_keyed_by_mtime_and_size(tmp_path: Path, project: Project) -> None:
    summary = run_tree(project, image_tree(1))
    image = next((Path(summary.run_dir) / "assets").glob("*.png"))
    cache = tmp_path / "thumbs"
    first = make_thumbnail(image, cache)
    stamp = first.stat().st_mtime_ns
    assert make_thumbnail(image, cache) == first
    assert first.stat().st_mtime_ns == stamp  # reused, not made again
    from PIL import Image

    Image.new("RGB", (300, 40), "white").save(image)
    second = make_thumbnail(image, cache)
    assert second != first
    with Image.open(second) as thumb:
        assert thumb.size == (160, 21)


def test_a_broken_image_is_marked_and_the_rest_still_show(qtbot: QtBot, project: Project) -> None:
    summary = run_tree(project, image_tree(3))
    broken = sorted((Path(summary.run_dir) / "assets").glob("*.png"))[1]
    broken.write_bytes(b"not a png")
    gallery = _gallery(qtbot, project)
    gallery.show_run(summary.run_id)
    model = gallery.model
    qtbot.waitUntil(lambda: model.pending == 0 and model.made == 2, timeout=20_000)
    errors = [model.error(row) for row in range(3)]
    assert sum(e is not None for e in errors) == 1
    row = next(r for r, e in enumerate(errors) if e)
    assert "cannot show it" in model.index(row, 0).data(3)


def test_actions_full_size_copy_path_and_run_folder(qtbot: QtBot, project: Project) -> None:
    summary = run_tree(project, image_tree(3, size="200x120"))
    gallery = _gallery(qtbot, project)
    gallery.show_run(summary.run_id)
    opened: list[QUrl] = []
    gallery.open_external = lambda url: opened.append(url) or True  # type: ignore[method-assign]
    assert not gallery.copy_button.isEnabled()
    gallery.select(2)
    assert gallery.copy_button.isEnabled()
    gallery.copy_path()
    assert QGuiApplication.clipboard().text() == str(gallery.model.assets[2].path)
    viewer = gallery.open_full_size()
    assert viewer is not None
    assert (viewer.pixmap.width(), viewer.pixmap.height()) == (200, 120)
    viewer.close()
    gallery.open_run_folder()
    gallery.open_in_default_app()
    assert [u.toLocalFile() for u in opened] == [
        summary.run_dir,
        str(gallery.model.assets[2].path),
    ]


def test_node_filter_and_a_run_without_images(qtbot: QtBot, project: Project) -> None:
    with_images = run_tree(project, image_tree(4))
    plain = image_tree(2, tree_id="plain")
    plain["nodes"][0]["children"] = []
    without = run_tree(project, plain)
    gallery = _gallery(qtbot, project)
    gallery.show_run(with_images.run_id)
    gallery.node_combo.setCurrentIndex(gallery.node_combo.findData("picture"))
    assert gallery.model.rowCount() == 4
    assert gallery.show_run(without.run_id)
    assert gallery.model.rowCount() == 0
    assert not gallery.show_run("gallery/nope")
    assert "No run" in gallery.title.text()


def test_a_thumbnail_is_asked_for_when_painted(qtbot: QtBot, project: Project) -> None:
    summary = run_tree(project, image_tree(150, size="48x32"))
    gallery = _gallery(qtbot, project)
    gallery.resize(500, 300)
    gallery.show_run(summary.run_id)
    model = gallery.model
    assert model.requested == 0  # nothing before the view paints or the event loop runs
    placeholder = model.index(120, 0).data(1)  # what a paint of item 120 asks for
    assert model.requested == 1
    assert not model.has_thumbnail(120)
    assert placeholder.width() == 160
    qtbot.waitUntil(lambda: model.complete, timeout=60_000)  # then all the rest, behind
    assert model.requested == model.made == 150
    gallery.view.scrollToBottom()
    assert model.has_thumbnail(149)
    assert model.index(149, 0).data(1).width() == 48
