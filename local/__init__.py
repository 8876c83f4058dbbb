"""The offline stack: moto, the SageMaker stand-in, the demo model, the trigger runner, the demo."""
