"""The ``newsbot`` entry point for environments installed before the command line moved to
:mod:`bot.frontends.cli` (their console script imports ``bot.cli:main``)."""

from __future__ import annotations

from bot.frontends.cli import app, main

__all__ = ["app", "main"]

if __name__ == "__main__":
    main()
