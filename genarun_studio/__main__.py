"""``python -m genarun_studio`` is the ``genarun`` command."""

from genarun_studio.cli import main

main()
