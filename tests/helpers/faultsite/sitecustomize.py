"""Every Python process started with this folder first on ``PYTHONPATH`` and
``FAULT_WORKER_POINT``/``FAULT_WORKER_MARKER`` set gets ``tests/helpers/fault_worker.py``'s
patch for that point: the way into a worker no test starts itself (the consumer that
``mediafix serve`` starts, and starts again when it dies). Without the two variables it does
nothing but hand over to any other ``sitecustomize`` it hides.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys


def _activate() -> None:
    point, marker = os.environ.get("FAULT_WORKER_POINT"), os.environ.get("FAULT_WORKER_MARKER")
    if point and marker:
        from tests.helpers.fault_worker import install_lazily  # (the repository is on the path)

        install_lazily(point, marker)


def _hidden() -> None:
    """Run the ``sitecustomize`` this one stands in front of, if there is one."""
    here = os.path.dirname(os.path.abspath(__file__))
    rest = [p for p in sys.path if os.path.abspath(p or ".") != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is not None and spec.loader is not None:
        spec.loader.exec_module(importlib.util.module_from_spec(spec))


_activate()
_hidden()
