"""Real-world templates (trimmed copies under tests/data/real_templates, sources in its README) are read
without a refusal or a false finding, and their true findings are still reported."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from mnp_toolkit.lint.engine import lint_template
from mnp_toolkit.lint.findings import Finding
from mnp_toolkit.lint.loader import TemplateLoadError, check_template_shape, load_template_file
from mnp_toolkit.lint.packs import mnp_pack
from mnp_toolkit.lint.rule import Level

DATA = Path(__file__).parents[2] / "data" / "real_templates"


def _counted(path: Path) -> list[Finding]:
    """Errors and warnings of the whole pack on one fixture (infos say what could not be verified)."""
    findings = lint_template(load_template_file(path), mnp_pack().rules)
    return [finding for finding in findings if finding.level is not Level.INFO]


def _genomics_body() -> dict[str, Any]:
    return copy.deepcopy(load_template_file(DATA / "gwfcore-batch-tagmap.yaml").body)


def test_mapping_value_listing_literal_objects_is_read_and_its_true_finding_kept() -> None:
    """aws-genomics-workflows maps ``tags`` to a list of {Key, Value} objects: literal data, not intrinsic
    functions (it was refused whole, exit 2). Its SSH-from-anywhere ingress is a true MNP203."""
    assert [(f.rule, f.resource) for f in _counted(DATA / "gwfcore-batch-tagmap.yaml")] == [("MNP203", "SecurityGroup")]


@pytest.mark.parametrize(
    "value",
    [
        [{"Key": "a", "Value": {"Ref": "Namespace"}}],
        [{"Key": "a", "Value": [{"Fn::FindInMap": ["TagMap", "default", "tags"]}]}],
        {"Fn::Sub": "x"},
    ],
)
def test_an_intrinsic_function_at_any_depth_of_a_mapping_value_is_still_refused(value: Any) -> None:
    body = _genomics_body()
    body["Mappings"]["TagMap"]["default"]["tags"] = value
    with pytest.raises(TemplateLoadError, match=r'Mappings "TagMap"/"default"/"tags".*no intrinsic functions'):
        check_template_shape(body, name="t.yaml")
