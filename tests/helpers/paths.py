"""Where things are, for tests that read the repository (docs, sources) or start its scripts."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src"
DOCS = REPO / "docs"
HELPERS = Path(__file__).resolve().parent
DATA = REPO / "tests" / "data"
