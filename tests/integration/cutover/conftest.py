"""The AWS emulator fixtures of the AWS tests (and their sandbox ``state`` dir), for the cutover tests."""

from tests.integration.aws.conftest import aws_stack, ec_source, state

__all__ = ["aws_stack", "ec_source", "state"]
