"""AWS calls the cutover needs beyond :mod:`redisops.adapters.aws`: a configuration profile's tags
(whether Terraform owns it) through the profile's ARN (the account from STS GetCallerIdentity)."""

from __future__ import annotations

from redisops.adapters.aws import AwsAdapter

__all__ = ["profile_arn", "profile_tags"]


def profile_arn(aws: AwsAdapter, app: str, profile: str) -> str:
    """``arn:aws:appconfig:<region>:<account>:application/<app>/configurationprofile/<profile>``."""
    ident = aws._call("sts", "get_caller_identity", "caller identity")
    account = str(ident["Account"])
    partition = str(ident.get("Arn", "arn:aws:")).split(":")[1] or "aws"
    region = aws.settings.region
    return f"arn:{partition}:appconfig:{region}:{account}:application/{app}/configurationprofile/{profile}"


def profile_tags(aws: AwsAdapter, app: str, profile: str) -> dict[str, str]:
    """The configuration profile's tags (ListTagsForResource)."""
    arn = profile_arn(aws, app, profile)
    out = aws._call("appconfig", "list_tags_for_resource", f"{app}/{profile}", ResourceArn=arn)
    return {str(k): str(v) for k, v in (out.get("Tags") or {}).items()}
