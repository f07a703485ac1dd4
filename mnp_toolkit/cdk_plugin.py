"""The MNP rule pack as a CDK policy-validation plugin: ``Validations.of(app).add_plugins(MnpChecks())``.

This is the only module of :mod:`mnp_toolkit` that imports aws-cdk-lib. It works on any CDK app (it reads
the synthesized templates, not our constructs) and sits next to cdk-nag 3 in the same ``add_plugins``::

    app = App()
    ...
    Validations.of(app).add_plugins(MnpChecks())  # or add_mnp_checks(app)
    synth_or_exit(app)                             # instead of app.synth(): no traceback on violations

How the CDK treats the report (aws-cdk-lib 2.275, ``core/lib/private/synthesis-validation.js``)
--------------------------------------------------------------------------------------------------
* Synthesis fails when a plugin report says ``success: false``. Every violation of every plugin is
  printed at once (rule, construct path, description, suggested fix) and written to
  ``cdk.out/validation-report.json``; the ``cdk`` CLI prints the same report and exits non-zero
  ("Synthesis finished with errors").
* Severity is per violation. We report errors as ``error`` and set ``success`` from errors only, so
  warnings are printed (``WARNING``) and synthesis goes on; ``cdk synth --strict`` fails on them too.
* ``Validations.of(scope).acknowledge(Acknowledgment(id="MnpChecks::MNP101", reason=...))`` records
  ``aws:cdk:acknowledged-rules`` metadata on ``scope``. The CDK moves a violating resource to
  ``suppressedViolations`` when the acknowledgement sits on the resource's construct or an ancestor,
  then recomputes ``success`` as "no remaining violation has severity error or fatal". A violation
  *without* a severity never counts as an error there: that is the documented pitfall (acknowledging one
  construct lets another construct's unacknowledged violation of the same rule pass). Every violation we
  report therefore carries an explicit severity, so an unacknowledged error always fails synthesis.
* The plugin also reads the acknowledgements itself (the stack's metadata in the cloud assembly) to
  reject those without a real reason (fewer than ten characters) or naming a rule the pack does not
  have, and to list acknowledged findings in :func:`synth_or_exit`'s summary.

Nested stacks (``aws_cdk.NestedStack``) are file assets of their parent, not stacks the CDK hands to
plugins; the plugin follows them from the parent's template (see :func:`nested_stack_templates`).

Template-metadata acknowledgements (``mnp:acknowledge``, read by :mod:`mnp_toolkit.lint.engine`; CDK users
add them with ``cfn_resource.add_metadata``) are honoured too: such findings are reported as ``info``
violations whose description starts with ``ACKNOWLEDGED``, so they stay visible and never fail synthesis.
"""

from __future__ import annotations

import json
import sys
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, TextIO

import aws_cdk
import jsii
from constructs import Construct

from mnp_toolkit import __version__
from mnp_toolkit.lint.engine import lint_template
from mnp_toolkit.lint.findings import Finding
from mnp_toolkit.lint.loader import (
    PACK_NAME,
    CdkAcknowledgement,
    TemplateLoadError,
    cdk_acknowledgements,
    check_cdk_acknowledgements,
    closest_acknowledgement,
    load_template_file,
    logical_id_paths,
    read_text_file,
    stack_metadata,
)
from mnp_toolkit.lint.packs import mnp_pack
from mnp_toolkit.lint.rule import Level, Rule
from mnp_toolkit.lint.source import SourceError, parse_json
from mnp_toolkit.lint.template import Template

PLUGIN_NAME = PACK_NAME
NESTED_STACK = "AWS::CloudFormation::Stack"


AckSource = Literal["template", "cdk"]


@dataclass(frozen=True)
class PluginFinding:
    """A finding and who acknowledged it: template metadata (``mnp:acknowledge``), the CDK, or nobody."""

    finding: Finding
    acknowledged_by: AckSource | None = None
    nested: bool = False  # found in a nested stack's template

    @property
    def fails_synth(self) -> bool:
        """An error not acknowledged in template metadata. CDK acknowledgements are the CDK's to apply."""
        return self.finding.level is Level.ERROR and self.acknowledged_by != "template"


@dataclass
class PluginRun:
    """What the last :meth:`MnpChecks.validate` found, for :func:`synth_or_exit` and tests."""

    findings: list[PluginFinding] = field(default_factory=list)
    templates: list[str] = field(default_factory=list)
    error: str | None = None

    def acknowledged(self) -> list[PluginFinding]:
        return [item for item in self.findings if item.acknowledged_by is not None]


def nested_stack_templates(template: Template, template_path: Path) -> list[Path]:
    """Template files of the ``aws_cdk.NestedStack`` resources of a synthesized stack.

    Nested stacks are file assets of their parent, not stacks the CDK hands to plugins. The file is named
    by the resource's ``aws:asset:path`` metadata (written when the CLI enables asset metadata), or else
    found through the stack's asset manifest: ``TemplateURL`` ends in ``<asset hash>.json``.
    """
    stacks = template.of_type(NESTED_STACK)
    if not stacks:
        return []
    by_hash: dict[str, str] = {}
    assets_path = template_path.with_name(template_path.name.removesuffix(".template.json") + ".assets.json")
    try:
        files = parse_json(read_text_file(assets_path)).get("files") or {}
    except (TemplateLoadError, SourceError, AttributeError):
        files = {}
    for asset_hash, asset in files.items():
        source = (asset.get("source") or {}).get("path") if isinstance(asset, Mapping) else None
        if isinstance(source, str) and source.endswith(".template.json"):
            by_hash[asset_hash] = source
    found: list[Path] = []
    for resource in stacks:
        name = resource.metadata.get("aws:asset:path")
        if not isinstance(name, str):
            url = json.dumps(resource.properties.get("TemplateURL"))
            name = next((source for digest, source in by_hash.items() if f"/{digest}.json" in url), None)
        if isinstance(name, str) and (template_path.parent / name).is_file():
            found.append(template_path.parent / name)
    return found


@jsii.implements(aws_cdk.IPolicyValidationPlugin)
class MnpChecks:
    """The ``MnpChecks`` rule pack as a CDK policy-validation plugin (see the module docs).

    ``only`` restricts the pack to some rule IDs (all by default); ``include_info`` also reports what a
    rule could not verify (an intrinsic it cannot resolve) as ``info`` violations, off by default to keep
    synth output about real problems.
    """

    def __init__(self, *, only: Sequence[str] | None = None, include_info: bool = False) -> None:
        pack = mnp_pack()
        if only is not None:
            unknown = sorted(set(only) - set(pack))
            if unknown:
                raise ValueError(f"MnpChecks(only=...): {', '.join(unknown)} not in the pack; known: {', '.join(pack)}")
        self._rules: list[Rule] = [rule for rule in pack.rules if only is None or rule.id in only]
        self._include_info = include_info
        self.last_run = PluginRun()
        _INSTANCES.add(self)

    @property
    def name(self) -> str:
        return PLUGIN_NAME

    @property
    def version(self) -> str:
        return __version__

    @property
    def rule_ids(self) -> list[str]:
        return [rule.id for rule in self._rules]

    def validate(self, context: aws_cdk.IPolicyValidationContext) -> aws_cdk.PolicyValidationPluginReport:
        """Run the pack on every synthesized template and report each finding as one violation."""
        run = PluginRun()
        self.last_run = run
        try:
            for template_path in context.template_paths:
                run.findings.extend(self._lint(Path(template_path)))
                run.templates.append(template_path)
        except TemplateLoadError as error:
            run.error = str(error)
            # success false, no violations and metadata.error: the CDK shows a plugin failure, and synthesis fails.
            return aws_cdk.PolicyValidationPluginReport(
                success=False, violations=[], metadata={"error": str(error)}, plugin_version=__version__
            )
        violations = [
            self._violation(item)
            for item in run.findings
            if self._include_info or item.finding.level is not Level.INFO or item.acknowledged_by == "template"
        ]
        return aws_cdk.PolicyValidationPluginReport(
            # CDK acknowledgements are left to the CDK: it suppresses matching resources and recomputes success
            # from the explicit severities. Counting them here would let an unmatched acknowledgement pass an error.
            success=not any(item.fails_synth for item in run.findings),
            violations=violations,
            plugin_version=__version__,
            metadata={
                "templates": str(len(run.templates)),
                "acknowledgedInTemplateMetadata": str(sum(i.acknowledged_by == "template" for i in run.findings)),
                "acknowledgedWithValidations": str(sum(i.acknowledged_by == "cdk" for i in run.findings)),
            },
        )

    # --------------------------------------------------------------------------------------- helpers

    def _lint(self, template_path: Path) -> list[PluginFinding]:
        """Findings on one stack's template and its nested stacks' templates, acknowledgements applied."""
        own = stack_metadata(template_path)
        known = set(mnp_pack())
        problems, _ = check_cdk_acknowledgements(
            cdk_acknowledgements(own), known_ids=known, template=str(template_path)
        )
        # Acknowledgements anywhere in the app apply by construct path (paths are unique app-wide).
        _, valid = check_cdk_acknowledgements(
            cdk_acknowledgements(stack_metadata(template_path, whole_assembly=True)),
            known_ids=known,
            template=str(template_path),
        )
        findings = [PluginFinding(problem) for problem in problems]
        findings += self._lint_template(template_path, valid, logical_id_paths(own), nested=False)
        return findings

    def _lint_template(
        self,
        template_path: Path,
        valid: Sequence[CdkAcknowledgement],
        logical_paths: Mapping[str, str],
        *,
        nested: bool,
    ) -> list[PluginFinding]:
        # A stack the CDK synthesized may have no Resources (an empty stack): CloudFormation's requirement is
        # for templates named by hand, which this plugin never sees.
        template = load_template_file(template_path, require_resources=False)
        findings: list[PluginFinding] = []
        # Acknowledgements may name any rule of the pack, not only the ones `only` selects.
        for finding in lint_template(template, self._rules, known_ids=set(mnp_pack())):
            # Logical IDs repeat across nested stacks: the logical-ID map is the parent stack's only.
            path = finding.path or (None if nested else logical_paths.get(finding.resource))
            if path != finding.path:
                finding = replace(finding, path=path)
            if finding.acknowledged is not None:
                findings.append(PluginFinding(finding, "template", nested=nested))
                continue
            closest = closest_acknowledgement(finding.rule, path, valid)
            if closest is None:
                findings.append(PluginFinding(finding, nested=nested))
            else:
                reason = f"{closest.reason} (Validations.acknowledge on {closest.construct_path})"
                findings.append(PluginFinding(replace(finding, acknowledged=reason), "cdk", nested=nested))
        for nested_path in nested_stack_templates(template, template_path):
            findings += self._lint_template(nested_path, valid, logical_paths, nested=True)
        return findings

    def _violation(self, item: PluginFinding) -> aws_cdk.PolicyViolation:
        finding = item.finding
        rule = mnp_pack().get(finding.rule)
        if item.acknowledged_by == "template":
            severity = "info"
            description = (
                f"ACKNOWLEDGED {finding.rule} ({finding.level.value}; mnp:acknowledge reason: "
                f"{finding.acknowledged}): {finding.message}"
            )
        else:
            severity = finding.level.value
            description = f"{finding.rule}: {finding.message}"
        locations = violation_locations(finding)
        if item.nested and finding.path:
            # The CDK maps logical IDs to constructs only for stack templates; name the construct directly.
            resource = aws_cdk.PolicyViolatingResource(locations=locations, construct_path=finding.path)
        elif finding.resource:
            resource = aws_cdk.PolicyViolatingResource(
                locations=locations, resource_logical_id=finding.resource, template_path=finding.template
            )
        else:
            resource = aws_cdk.PolicyViolatingResource(locations=locations, construct_path=finding.path or "")
        rule_metadata = {"level": finding.level.value}
        if finding.line is not None:
            # The line and column in the synthesized template (the CDK report has no field of its own for it).
            rule_metadata["templateLocation"] = f"{Path(finding.template).name}:{finding.line}:{finding.column}"
        if rule is not None:
            rule_metadata |= {"resourceType": rule.resource_type, "source": rule.source}
        return aws_cdk.PolicyViolation(
            rule_name=finding.rule,
            description=description,
            fix=finding.fix,
            # Always explicit: once anything is acknowledged, the CDK counts only error/fatal severities as failing.
            severity=severity,
            violating_resources=[resource],
            rule_metadata=rule_metadata,
        )


def violation_locations(finding: Finding) -> list[str]:
    """Where in the resource the violation is, as the CDK report expects it: relative to the resource and
    dotted (``Properties.NodeProperties.MainNode``, list items as ``[1]``); the report shows it as the
    resource's ``propertyPaths``. [] for a finding outside any template."""
    pointer = list(finding.pointer)
    if finding.resource and pointer[:2] == ["Resources", finding.resource]:
        pointer = pointer[2:]
    text = ""
    for step in pointer:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return [text] if text else []


def add_mnp_checks(scope: Construct, *, only: Sequence[str] | None = None, include_info: bool = False) -> MnpChecks:
    """Add the pack to an App or Stage (one line in app.py) and return the plugin (its ``last_run``)."""
    plugin = MnpChecks(only=only, include_info=include_info)
    aws_cdk.Validations.of(scope).add_plugins(plugin)
    return plugin


def _registered_mnp_plugins() -> list[MnpChecks]:
    return [plugin for plugin in _INSTANCES if plugin.last_run.templates or plugin.last_run.error]


_INSTANCES: weakref.WeakSet[MnpChecks] = weakref.WeakSet()


def synth_or_exit(app: aws_cdk.App, *, stream: TextIO | None = None) -> aws_cdk.cx_api.CloudAssembly:
    """``app.synth()`` for app.py files: on a policy-validation failure, exit 1 after the report, no traceback.

    The CDK prints the report (every violation: rule, construct path, what is wrong, the fix) and raises
    ``RuntimeError('ValidationFailed: ...')``, which Python would turn into a long jsii traceback. Under the
    ``cdk`` CLI the app does not raise at all (the CLI, 2.1148.1 here, sets the context
    ``@aws-cdk/core:failSynthOnValidationErrors`` to false, reads ``validation-report.json`` and fails
    itself). Findings acknowledged through either mechanism are listed on ``stream`` (stderr).
    """
    out = stream if stream is not None else sys.stderr
    try:
        assembly = app.synth()
    except RuntimeError as error:
        message = str(error)
        if "ValidationFailed" not in message:
            raise
        report = message.partition("ValidationFailed")[2].lstrip(": ").strip()
        print(report, file=out)
        _print_acknowledged(out)
        print(
            "mnp: synthesis stopped by policy validation: fix or acknowledge the violations listed above.",
            file=out,
        )
        sys.exit(1)
    _print_acknowledged(out)
    return assembly


def _print_acknowledged(out: TextIO) -> None:
    for plugin in _registered_mnp_plugins():
        for item in plugin.last_run.acknowledged():
            finding = item.finding
            where = finding.path or finding.resource
            print(
                f"mnp: acknowledged {finding.rule} ({finding.level.value}) on {where}: {finding.acknowledged}",
                file=out,
            )
