"""``make bench``: the numbers of issue 2, printed as one table (not timed tests).

Run ``python -m tests.bench [section ...]`` with ``PYTHONPATH=layers/orchestrator:<repo root>``
(the Makefile sets it). Each section is a module here with ``run(options) -> list[Row]``;
:data:`SECTIONS` lists them in the order they run. Add a section by writing the module and
appending its name.
"""

# Section name → module ``tests.bench.<name>``; imported only when selected (moto is slow to import).
SECTIONS: list[str] = [
    "calls", "coldstart", "cpu", "local_stack", "scaling", "nightly", "failed_night", "sweeper", "sio"
]  # fmt: skip
