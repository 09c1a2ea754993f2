# The redisops image that the backup CronJob and the restore Job run in-cluster
# (`redisops manifests` renders both with --tool-image pointing here).
#
#   docker build -t <registry>/redisops:0.1.0 .
#
# It cannot be built on the development machines (no Docker daemon there); CI for images lives with
# the team's registry. Kept small: Python, redisops with pinned dependencies, and redis-tools for
# redis-check-rdb (backup verify) and redis-server (deep verify and drills); the runbooks and the TUI.
FROM python:3.11-slim-bookworm

RUN apt-get update \
 && apt-get install -y --no-install-recommends redis-tools redis-server \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/redisops
COPY pyproject.toml README.md ./
COPY requirements/constraints.txt requirements/constraints.txt
COPY redisops redisops
# the runbooks (redisops/data/runbooks links here) and the terminal UI, so the in-cluster Jobs and an
# operator without a checkout have them: `redisops runbook list`, `redisops tui`
COPY runbooks runbooks
COPY tui tui
RUN pip install --no-cache-dir -c requirements/constraints.txt ".[tui]" \
 && redisops --version \
 && redisops runbook list

# the same uid as Redis in the official image, so files written into the PVC belong to Redis
USER 999:999
ENV HOME=/tmp
ENTRYPOINT ["redisops"]
CMD ["--help"]
