"""The ``genarun-studio`` desktop editor: the only package that imports Qt."""
