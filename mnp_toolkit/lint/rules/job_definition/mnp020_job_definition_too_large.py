"""MNP020: the rendered MNP job definition is larger than 24 KiB (the ``RegisterJobDefinition`` limit).

"Rendered" means: the JSON of the job definition's resolved ``Properties`` as the Batch API receives them
(keys in the API's camelCase, CloudFormation-only keys such as ``ResourceRetentionPolicy`` left out),
serialized compactly (``separators=(",", ":")``, UTF-8). Values CloudFormation passes as strings are
counted as written. Values the template does not fix (an ARN from ``Fn::GetAtt``, an import, a generated
``JobDefinitionName``) are counted as empty strings, which gives a lower bound: above the limit that is
an error; when it is under the limit but each unresolved value might add up to
:data:`UNRESOLVED_ALLOWANCE` bytes and so cross it, an info.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from mnp_toolkit.core.limits import MAX_JOB_DEFINITION_BYTES
from mnp_toolkit.lint.model.job_definitions import mnp_scope
from mnp_toolkit.lint.model.resource_types import JOB_DEFINITION
from mnp_toolkit.lint.rule import Compliant, Level, NonCompliant, Rule, RuleResult, Unverifiable
from mnp_toolkit.lint.template import UNKNOWN, Resource, Template

#: Where the limit (:data:`MAX_JOB_DEFINITION_BYTES`, "Maximum job definition size") is listed.
SERVICE_QUOTAS_URL = "https://docs.aws.amazon.com/batch/latest/userguide/service_limits.html"
#: Bytes an unresolved value may take (an ARN is at most 2,048 characters).
UNRESOLVED_ALLOWANCE = 2048
#: Properties CloudFormation keeps to itself (not sent to RegisterJobDefinition).
CLOUDFORMATION_ONLY = frozenset({"ResourceRetentionPolicy"})


def _api_key(key: str) -> str:
    return key[:1].lower() + key[1:] if key[:1].isupper() else key


def _render(value: Any, unresolved: list[int]) -> Any:
    """``value`` as plain JSON: unresolved values become ``""`` and are counted in ``unresolved``."""
    if isinstance(value, Mapping):
        return {_api_key(str(key)): _render(item, unresolved) for key, item in value.items()}
    if isinstance(value, list):
        return [_render(item, unresolved) for item in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    unresolved[0] += 1
    return ""


def rendered_size(resource: Resource) -> tuple[int, int] | None:
    """``(bytes, unresolved values)`` of the rendered job definition; None when Properties are not fixed."""
    properties = resource.get()
    if properties is UNKNOWN or not isinstance(properties, Mapping):
        return None
    unresolved = [0]
    body = {key: value for key, value in properties.items() if key not in CLOUDFORMATION_ONLY}
    if "JobDefinitionName" not in body:
        body["JobDefinitionName"] = UNKNOWN  # CloudFormation generates one
    rendered = _render(body, unresolved)
    text = json.dumps(rendered, separators=(",", ":"), ensure_ascii=False)
    return len(text.encode("utf-8")), unresolved[0]


def check(resource: Resource, template: Template) -> RuleResult:
    if (scope := mnp_scope(resource)) is not None:
        return scope
    size = rendered_size(resource)
    if size is None:
        return Unverifiable(f"the Properties of job definition {resource.display_name} are not fixed")
    size_bytes, unresolved = size
    limit = MAX_JOB_DEFINITION_BYTES
    if size_bytes > limit:
        at_least = f"at least {size_bytes:,}" if unresolved else f"{size_bytes:,}"
        return NonCompliant(
            f"MNP job definition {resource.display_name} renders to {at_least} bytes of JSON "
            f"({size_bytes / 1024:.1f} KiB), more than the {limit:,}-byte (24 KiB) RegisterJobDefinition limit."
        )
    if unresolved and size_bytes + unresolved * UNRESOLVED_ALLOWANCE > limit:
        return Unverifiable(
            f"job definition {resource.display_name} renders to {size_bytes:,} bytes plus {unresolved} value(s) "
            f"the template does not fix, which could take it over the {limit:,}-byte limit"
        )
    return Compliant()


RULE = Rule(
    id="MNP020",
    level=Level.ERROR,
    resource_type=JOB_DEFINITION,
    info="The rendered job definition is larger than 24 KiB.",
    explanation="RegisterJobDefinition rejects a job definition larger than 24 KiB (Batch service quotas), so "
    "the deployment fails. The toolkit measures the compact JSON of the resolved Properties as the API "
    "receives them (camelCase keys, CloudFormation-only keys left out, unresolved values counted as empty: "
    "a lower bound). Multi-node definitions grow fast: every node range repeats its container's command, "
    "environment and settings.",
    fix="Shrink the job definition: move large environment values or scripts into the image, S3 or SSM "
    "Parameter Store / Secrets Manager (EcsEc2ContainerDefinition secrets), pass per-run values as job "
    "parameters at submit time, and merge node groups that repeat the same container (the toolkit's "
    "MnpJobDefinition node_groups inherit the job's defaults instead of repeating them).",
    source=SERVICE_QUOTAS_URL,
    check=check,
)
