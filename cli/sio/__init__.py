"""sio: the command-line client of the SageMaker Inference Orchestrator.

For the people who drop files (``submit``, ``status``, ``watch``, ``results``), the people who run
the stack (``redrive``, ``night rerun``) and anyone choosing an inference mode (``cost``,
``recommend``). Installed on its own with ``pip install .`` from the repository root: it imports
nothing from the Lambda layer; the few product facts it needs live in :mod:`sio.product`, and
tests hold them equal to the layer's.
"""

__version__ = "0.1.0"
