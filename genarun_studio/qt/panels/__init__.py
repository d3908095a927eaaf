"""The editor's dock panels, one module per dock (the run log view is part of run details).

A panel is a ``QWidget`` the main window puts in a dock; it reads the document, the project
or the runner it is given and never another panel. Modules are imported lazily by the
window, so an unused panel costs nothing at start-up.
"""
