"""The editor's dialogs, one module per dialog: settings, the API node test, run compare.

Opened from the window's menus and imported lazily when first opened.
"""
