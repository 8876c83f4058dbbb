"""The demo model and the server that puts it behind SageMaker's container contract."""
