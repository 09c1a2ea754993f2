"""The AWS emulator fixtures of the AWS tests, for the cutover tests on the Kubernetes emulator."""

from tests.integration.aws.conftest import aws_stack, ec_source

__all__ = ["aws_stack", "ec_source"]
