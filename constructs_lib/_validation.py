"""The one error type the constructs raise for contradictory or impossible props.

Every construct checks its props when it is built (not at synth, not at deploy), so a mistake surfaces as
one exception that names the construct, the prop, what is wrong and how to fix it, instead of a jsii
traceback from deep inside aws-cdk-lib or a CloudFormation failure half-way through a deploy.
"""

from __future__ import annotations

from collections.abc import Sequence

from mnp_toolkit.core.job_spec import Verdict


class MnpPropsError(ValueError):
    """Raised when a construct's props are invalid; the message names the prop, the problem and the fix."""

    def __init__(self, construct: str, construct_id: str, prop: str, problem: str, fix: str) -> None:
        self.construct = construct
        self.construct_id = construct_id
        self.prop = prop
        self.problem = problem
        self.fix = fix
        super().__init__(f"{construct} '{construct_id}': {prop}: {problem}. Fix: {fix}")

    @classmethod
    def of_verdicts(cls, construct: str, construct_id: str, verdicts: Sequence[Verdict]) -> MnpPropsError:
        """One error naming every violation at once (the first one's prop leads; each names its rule)."""
        first, rest = verdicts[0], verdicts[1:]
        problem = f"{first.message} ({first.rule})" + "".join(
            f"; also {verdict.field}: {verdict.message} ({verdict.rule})" for verdict in rest
        )
        fix = first.fix + "".join(f"; {verdict.field}: {verdict.fix}" for verdict in rest)
        return cls(construct, construct_id, first.field, problem, fix)
