"""Genarun's built-in node types, registered under the ``genarun.nodes`` entry-point group.

Each is declared once, without Qt: the engine runs it and the editor builds its form from
the same class. Third-party node packs follow the same pattern.
"""

from __future__ import annotations

from genarun_nodes.human import HumanNode
from genarun_nodes.image import ImageNode
from genarun_nodes.llm import ObjectNode, TextArrayNode, TextNode
from genarun_nodes.template import TemplateNode

__all__ = ["HumanNode", "ImageNode", "ObjectNode", "TemplateNode", "TextArrayNode", "TextNode"]
