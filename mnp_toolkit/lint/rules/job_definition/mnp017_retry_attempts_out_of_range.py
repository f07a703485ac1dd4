"""MNP017: an MNP job definition's ``RetryStrategy.Attempts`` is not between 1 and 10.

No ``RetryStrategy`` (or no ``Attempts`` in it) is fine: the job then runs once. A value that is not an
integer is an error; one the template does not fix is an info.
"""

from __future__ import annotations

from collections.abc import Mapping

from mnp_toolkit.core.limits import MAX_RETRY_ATTEMPTS, MIN_RETRY_ATTEMPTS, RETRY_STRATEGY_API_URL
from mnp_toolkit.lint.model.job_definitions import is_plain_json, mnp_scope
from mnp_toolkit.lint.model.naming import render_value
from mnp_toolkit.lint.model.resource_types import JOB_DEFINITION
from mnp_toolkit.lint.rule import Compliant, Level, NonCompliant, Rule, RuleResult, Unverifiable
from mnp_toolkit.lint.template import UNKNOWN, Resource, Template, as_int


def check(resource: Resource, template: Template) -> RuleResult:
    if (scope := mnp_scope(resource)) is not None:
        return scope
    strategy = resource.get("RetryStrategy")
    if strategy is None:
        return Compliant()
    if not isinstance(strategy, Mapping):
        return Unverifiable(f"the RetryStrategy of job definition {resource.display_name} is not fixed")
    raw = strategy.get("Attempts")
    if raw is None:
        return Compliant()
    attempts = as_int(raw)
    if attempts is UNKNOWN:
        if is_plain_json(raw):
            return NonCompliant(
                f"MNP job definition {resource.display_name} has RetryStrategy.Attempts {render_value(raw)}, "
                f"which is not an integer ({MIN_RETRY_ATTEMPTS} to {MAX_RETRY_ATTEMPTS})."
            )
        return Unverifiable(f"the RetryStrategy.Attempts of job definition {resource.display_name} is not fixed")
    assert isinstance(attempts, int)
    if not MIN_RETRY_ATTEMPTS <= attempts <= MAX_RETRY_ATTEMPTS:
        return NonCompliant(
            f"MNP job definition {resource.display_name} has RetryStrategy.Attempts {attempts}; AWS Batch allows "
            f"{MIN_RETRY_ATTEMPTS} to {MAX_RETRY_ATTEMPTS}."
        )
    return Compliant()


RULE = Rule(
    id="MNP017",
    level=Level.ERROR,
    resource_type=JOB_DEFINITION,
    info=f"RetryStrategy.Attempts is not between {MIN_RETRY_ATTEMPTS} and {MAX_RETRY_ATTEMPTS}.",
    explanation=f"AWS Batch accepts {MIN_RETRY_ATTEMPTS} to {MAX_RETRY_ATTEMPTS} attempts (API RetryStrategy); "
    "RegisterJobDefinition rejects other values, so the deployment fails. For a multi-node job each attempt "
    "reruns every node, so keep retries few and limited to infrastructure failures.",
    fix=f"Set RetryStrategy.Attempts to {MIN_RETRY_ATTEMPTS}..{MAX_RETRY_ATTEMPTS}: aws-cdk-lib "
    "MultiNodeJobDefinition retryAttempts; the toolkit's MnpJobDefinition retry_attempts (with retry_on="
    "'infrastructure', its default, to retry only lost instances).",
    source=RETRY_STRATEGY_API_URL,
    check=check,
)
