"""Shared package of the SageMaker Inference Orchestrator, deployed as the Lambda layer.

Modules, by what they hold:
- ``settings``      validated configuration read once from the environment
- ``errors``        the small exception hierarchy
- ``identity``      request ids and transform job names (pure)
- ``s3_events``     S3 notifications inside SQS bodies (pure)
- ``routing``       the decision framework: which inference mode a file gets (pure)
- ``status``        tracker statuses and their ranks (pure)
- ``messages``      the one result-message shape on both topics (pure)
- ``clients``       boto3 clients with retry and timeout settings that fit Lambda
- ``tracker``       DynamoDB adapter for the tracker table
- ``sagemaker``     SageMaker adapter (invoke calls, error translation)
- ``notifications`` SNS adapter (publish results)
- ``router``        the router's per-file workflow
- ``outcomes``      the tracker's per-message workflow
- ``observability`` Powertools logger and metrics
"""
