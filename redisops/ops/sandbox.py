"""The local sandbox: the embedded default target of every command.

``up`` starts, under a state dir, three services on loopback:

* ``target``  a redis-server run from the very redis.conf the Kubernetes ConfigMap carries (the
  deployment config rendered with local overrides); its ``data/`` dir stands in for the PVC;
* ``source``  an ElastiCache-like redis-server with sample data: the commands ElastiCache blocks are
  renamed to secret names (recorded in the state file, mode 0600), so clients are refused as on
  ElastiCache while the AWS emulator can still take its snapshot or apply its parameter group;
* ``s3``      a moto server (S3, and the AWS state moto keeps) with the backup bucket. moto keeps objects
  in memory, so ``down`` exports the bucket into the state dir and ``up`` imports it again
  (:mod:`redisops.ops.sandbox_store`): backups outlive a restart as the target's data dir does;
* ``aws``     the AWS control-plane emulator in front of moto, with a replication group standing for the
  source and an AppConfig application whose configuration holds the source endpoint
  (:mod:`redisops.ops.sandbox_aws`; the facts are in the state's ``aws``).

The endpoints are recorded in ``state.json``, which later commands (and the TUI) read by default.
``up`` checks every dependency before it starts anything, records each service as soon as it runs
(and the shell that starts a process writes its pid file, ``<state dir>/<service>/process.pid``), and
stops what it started when a later step fails or is interrupted. It is idempotent, repairs a stale
state (dead pids, ports taken by others) and says what it did. ``down`` stops only the processes the
sandbox started: the pids in the state and in the pid files (so it also finds what an interrupted
run left behind).

``up --password-file F --acl-user NAME --tls`` starts the target with a password, an ACL user and TLS
(:mod:`redisops.ops.sandbox_auth`): the state records that auth is on, the password file's path, the
user and the CA, never the password; the sandbox target (:attr:`SandboxState.target`) carries the
user and TLS, and the target object reads the recorded password file (docs/targets.md).

The code is split by responsibility, every name importable from here: the state and its model
(:mod:`redisops.ops.sandbox_state`), ``up`` (:mod:`redisops.ops.sandbox_up`: the services are launched
together and waited for in order), ``status`` and ``down`` (:mod:`redisops.ops.sandbox_down`), the
target's stop/start for restores (:mod:`redisops.ops.sandbox_target`).
"""

from __future__ import annotations

from redisops.ops.sandbox_down import SandboxDownReport, sandbox_down, sandbox_status
from redisops.ops.sandbox_state import EMULATOR as EMULATOR
from redisops.ops.sandbox_state import SERVICES as SERVICES
from redisops.ops.sandbox_state import STATE_FILE as STATE_FILE
from redisops.ops.sandbox_state import Progress as Progress
from redisops.ops.sandbox_state import SandboxService, SandboxState, default_state_dir, load_state
from redisops.ops.sandbox_target import target_controls
from redisops.ops.sandbox_up import SANDBOX_SAMPLE, check_dependencies, sandbox_up

__all__ = [
    "SANDBOX_SAMPLE",
    "SandboxDownReport",
    "SandboxService",
    "SandboxState",
    "check_dependencies",
    "default_state_dir",
    "load_state",
    "sandbox_down",
    "sandbox_status",
    "sandbox_up",
    "target_controls",
]
