"""Pure Kubernetes manifests for one Redis deployment, and the checks kubernetes-validate leaves out.

Nothing here calls an API or imports the kubernetes client: objects are plain dicts.
"""

from redisops.k8s.checks import Issue, check_cron, check_manifest, check_manifests, selector_matches
from redisops.k8s.manifests import (
    DEFAULT_TOOL_IMAGE,
    Manifest,
    RenderOptions,
    render_manifests,
    render_restore_job,
    to_yaml,
)

__all__ = [
    "DEFAULT_TOOL_IMAGE",
    "Issue",
    "Manifest",
    "RenderOptions",
    "check_cron",
    "check_manifest",
    "check_manifests",
    "render_manifests",
    "render_restore_job",
    "selector_matches",
    "to_yaml",
]
