"""Genarun's HTTP side (Starlette + uvicorn, imported lazily): for now the hook server that
takes answers to human requests; later the full server mode."""
