"""Tree model, file formats, templates and validation (no engine, no Qt)."""
