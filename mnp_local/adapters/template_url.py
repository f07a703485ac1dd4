"""CloudFormation ``TemplateURL`` pointing at the emulated S3 by IP address.

moto gap (moto 5.2.5): ``moto.cloudformation.utils.get_stack_from_s3_url`` reads a template URL as
path-style (``/bucket/key``) only when the host is ``localhost`` or ``s3*.amazonaws.com``; any other
host is taken as virtual-hosted style (``bucket.host``). The CDK CLI uploads each stack's template
to the bootstrap bucket and passes ``TemplateURL=http://127.0.0.1:PORT/<bucket>/<key>`` (its S3
client uses ``AWS_ENDPOINT_URL`` path-style), so moto looks for a bucket named ``127`` and answers
"The specified bucket does not exist": every ``cdk deploy`` fails at the change set.

What AWS does instead: CloudFormation accepts path-style and virtual-hosted S3 URLs.

This adapter reads URLs whose host is an IP address (or ``localhost``) path-style and leaves every
other URL to moto.
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlparse

from moto.cloudformation import models as cloudformation_models
from moto.cloudformation import responses as cloudformation_responses
from moto.cloudformation import utils as cloudformation_utils

_moto_get_stack_from_s3_url = cloudformation_utils.get_stack_from_s3_url


def _is_ip_or_localhost(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def get_stack_from_s3_url(template_url: str, account_id: str, partition: str) -> str:
    """Moto's function, reading ``http://<ip>:<port>/<bucket>/<key>`` path-style."""
    parts = urlparse(template_url)
    if parts.hostname and _is_ip_or_localhost(parts.hostname) and "/" in parts.path.lstrip("/"):
        from moto.s3.models import s3_backends

        bucket_name, key_name = parts.path.lstrip("/").split("/", 1)
        key: Any = s3_backends[account_id][partition].get_object(bucket_name, key_name)
        return str(key.value.decode("utf-8"))
    return _moto_get_stack_from_s3_url(template_url, account_id, partition)


def register() -> None:
    """Point moto's CloudFormation at the function above (it imports moto's by name)."""
    for module in (cloudformation_utils, cloudformation_responses, cloudformation_models):
        module.get_stack_from_s3_url = get_stack_from_s3_url  # type: ignore[attr-defined]
