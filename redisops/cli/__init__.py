"""The ``redisops`` command line (typer + rich): a front end over :mod:`redisops.ops`."""
