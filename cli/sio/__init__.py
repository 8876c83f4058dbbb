"""sio: the command-line client of the SageMaker Inference Orchestrator.

For the people who drop files (``submit``, ``status``, ``watch``, ``results``), the people who run
the stack (``redrive``, ``night rerun``) and anyone choosing an inference mode (``cost``,
``recommend``). Installed on its own with ``pip install .`` from the repository root, with the Lambda
layer's pure core (``orchestrator.core``) beside it: the product facts it needs (statuses, limits,
routing) are read from there, through :mod:`sio.product`, never copied.
"""

__version__ = "0.1.0"
