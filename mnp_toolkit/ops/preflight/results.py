"""What a preflight check reports: one row of the table (:class:`CheckResult`: pass, fail or
could-not-check, with the fix), the table itself (:func:`render_table`) and the exit code."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

EXIT_CHECK_FAILED = 1


class Result(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    UNKNOWN = "could-not-check"


@dataclass(frozen=True, kw_only=True)
class CheckResult:
    """One row of the preflight table."""

    check: str
    result: Result
    detail: str
    fix: str = ""

    @classmethod
    def passed(cls, *, check: str, detail: str) -> CheckResult:
        """A passing row (it needs no fix)."""
        return cls(check=check, result=Result.PASS, detail=detail)

    @classmethod
    def failed(cls, *, check: str, detail: str, fix: str) -> CheckResult:
        """A failing row: what is wrong, and the fix the table prints under it."""
        return cls(check=check, result=Result.FAIL, detail=detail, fix=fix)

    @classmethod
    def could_not_check(cls, *, check: str, detail: str, fix: str) -> CheckResult:
        """A row AWS did not answer (never a pass): why, and how to check it by hand."""
        return cls(check=check, result=Result.UNKNOWN, detail=detail, fix=fix)

    def to_dict(self) -> dict[str, str]:
        return {"check": self.check, "result": str(self.result), "detail": self.detail, "fix": self.fix}


def render_table(results: Sequence[CheckResult], *, region: str) -> str:
    """The preflight table: CHECK, RESULT, DETAIL (and FIX under failing or unchecked rows)."""
    header = ("CHECK", "RESULT", "DETAIL")
    width_check = max([len(header[0]), *(len(r.check) for r in results)])
    width_result = max([len(header[1]), *(len(str(r.result)) for r in results)])
    lines = [f"Preflight in {region}", ""]
    lines.append(f"{header[0].ljust(width_check)}  {header[1].ljust(width_result)}  {header[2]}")
    for row in results:
        lines.append(f"{row.check.ljust(width_check)}  {str(row.result).ljust(width_result)}  {row.detail}")
        if row.fix and row.result is not Result.PASS:
            lines.append(f"{''.ljust(width_check)}  {''.ljust(width_result)}  fix: {row.fix}")
    counts = {result: sum(1 for r in results if r.result is result) for result in Result}
    lines.append("")
    lines.append(
        f"{counts[Result.PASS]} passed, {counts[Result.FAIL]} failed, {counts[Result.UNKNOWN]} could not be checked"
    )
    if counts[Result.UNKNOWN]:
        lines.append("could-not-check is not a pass: verify those by hand before deploying.")
    return "\n".join(lines)


def exit_code(results: Sequence[CheckResult]) -> int:
    return EXIT_CHECK_FAILED if any(r.result is Result.FAIL for r in results) else 0
