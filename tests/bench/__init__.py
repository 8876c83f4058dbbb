"""``make bench``: the numbers of issue 2, printed as one table (not timed tests).

Run ``python -m tests.bench [section ...]`` from the repository root (``make bench`` runs them all).
The shared package is imported from the layer's source, as Lambda imports it from ``/opt/python``:
this package puts ``layers/orchestrator`` on the path itself, so no ``PYTHONPATH`` is needed. Each
section is a module here with ``run(options) -> list[Row]``; :data:`SECTIONS` lists them in the order
they run. Add a section by writing the module and appending its name.
"""

import sys
from pathlib import Path

_LAYER = str(Path(__file__).resolve().parents[2] / "layers" / "orchestrator")
if _LAYER not in sys.path:
    sys.path.insert(0, _LAYER)

# Section name → module ``tests.bench.<name>``; imported only when selected (moto is slow to import).
SECTIONS: list[str] = [
    "calls", "coldstart", "cpu", "local_stack", "scaling", "nightly", "failed_night", "sweeper", "sio", "outcomes",
    "costs",
]  # fmt: skip
