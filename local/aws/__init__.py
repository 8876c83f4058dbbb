"""The local AWS: moto in server mode and its patches, boto3 clients for it, template.yaml translated
into the resources created there, and the stack's state derived from them.
``python -m local.aws`` starts the moto server."""
