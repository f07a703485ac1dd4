"""Find and parse CloudFormation templates for ``mnp lint``: template files (JSON or YAML) and ``cdk.out``.

* A **file** is JSON when it ends in ``.json``, YAML when it ends in ``.yaml``/``.yml``, and otherwise JSON
  if it parses as JSON, else YAML. YAML may use CloudFormation's short-form intrinsics (``!Ref``,
  ``!GetAtt a.b``, ``!Sub`` ...); they become the long form (``{"Ref": ...}``) the rules understand.
* A **directory** is read as a cloud assembly (``cdk.out``): every ``aws:cloudformation:stack`` artifact
  of ``manifest.json`` (nested assemblies of CDK Stages included) plus nested-stack templates
  (``*.nested.template.json``). Without a manifest, its ``*.template.json``/``.yaml``/``.yml`` files.

It also reads the acknowledgements a cloud assembly records (``Validations.of(scope).acknowledge``), so
that ``mnp lint cdk.out`` and the synth-time plugin agree (:func:`acknowledge_from_assembly`).

Every problem raises :class:`TemplateLoadError` with one line naming the file, what is wrong and what to
do: ``mnp lint`` turns it into exit code 2 (an unreadable input is never a clean result).

Plain Python (json + PyYAML only), so ``mnp lint`` starts fast.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from mnp_toolkit.lint.engine import INVALID_ACKNOWLEDGEMENT_ID, MIN_REASON_LENGTH
from mnp_toolkit.lint.findings import Finding
from mnp_toolkit.lint.rule import Level
from mnp_toolkit.lint.template import Template

STACK_ARTIFACT = "aws:cloudformation:stack"
NESTED_ASSEMBLY_ARTIFACT = "cdk:cloud-assembly"
_TEMPLATE_GLOBS = ("*.template.json", "*.template.yaml", "*.template.yml")
_MAPPING_SECTIONS = ("Resources", "Parameters", "Mappings", "Metadata", "Conditions", "Outputs")


class TemplateLoadError(Exception):
    """An input that cannot be read or parsed as a template (one line: file, problem, fix)."""


# ----------------------------------------------------------------------------------------------- YAML


class CfnYamlLoader(yaml.SafeLoader):
    """A SafeLoader that understands CloudFormation's short-form intrinsic functions.

    Timestamps are not converted: CloudFormation reads ``2010-09-09`` as a string, and so must we.
    """


CfnYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

#: Short-form tag -> long-form key.
SHORT_FORM_TAGS: dict[str, str] = {
    "Ref": "Ref",
    "Condition": "Condition",
    **{
        name: f"Fn::{name}"
        for name in (
            "Sub",
            "GetAtt",
            "Select",
            "GetAZs",
            "Join",
            "If",
            "ImportValue",
            "FindInMap",
            "Split",
            "Base64",
            "Cidr",
            "Equals",
            "Not",
            "And",
            "Or",
            "Transform",
            "Length",
            "ToJsonString",
        )
    },
}


def _short_form_constructor(key: str) -> Any:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        value: Any
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
            if key == "Fn::GetAtt" and isinstance(value, str):
                # `!GetAtt Resource.Attribute` is the short form of ["Resource", "Attribute"]; attributes
                # may themselves contain dots (Endpoint.Address), so split on the first one only.
                logical_id, _, attribute = value.partition(".")
                value = [logical_id, attribute] if attribute else value
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        return {key: value}

    return construct


for _tag, _key in SHORT_FORM_TAGS.items():
    CfnYamlLoader.add_constructor(f"!{_tag}", _short_form_constructor(_key))


def parse_yaml(text: str) -> Any:
    """Parse CloudFormation YAML (short-form intrinsics become their long form)."""
    return yaml.load(text, Loader=CfnYamlLoader)  # a SafeLoader subclass: no arbitrary objects


def _yaml_error_line(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"{problem}{where}"


# ------------------------------------------------------------------------------------------ templates


def parse_template_text(text: str, *, name: str, kind: str | None = None) -> Any:
    """Parse a template body; ``kind`` is ``"json"``, ``"yaml"`` or None (JSON if it parses, else YAML)."""
    if kind in (None, "json"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            if kind == "json":
                raise TemplateLoadError(
                    f"{name}: invalid JSON at line {error.lineno}, column {error.colno}: {error.msg}"
                ) from None
    try:
        return parse_yaml(text)
    except yaml.YAMLError as error:
        label = "YAML" if kind == "yaml" else "JSON or YAML"
        raise TemplateLoadError(f"{name}: invalid {label}: {_yaml_error_line(error)}") from None


def _kind_of(path: Path) -> str | None:
    suffix = path.suffix.lower()
    if suffix == ".json":
        return "json"
    if suffix in (".yaml", ".yml"):
        return "yaml"
    return None


def check_template_shape(body: Any, *, name: str) -> Mapping[str, Any]:
    """Reject what is not a CloudFormation template, naming the part that is wrong."""
    if not isinstance(body, Mapping):
        kind = "empty" if body is None else f"a {type(body).__name__}"
        raise TemplateLoadError(
            f"{name}: not a CloudFormation template: the document is {kind}, expected a mapping with 'Resources'"
        )
    for section in _MAPPING_SECTIONS:
        value = body.get(section)
        if value is not None and not isinstance(value, Mapping):
            raise TemplateLoadError(f"{name}: '{section}' must be a mapping, got {type(value).__name__}")
    for logical_id, definition in (body.get("Resources") or {}).items():
        if not isinstance(definition, Mapping):
            raise TemplateLoadError(
                f"{name}: resource {logical_id!r} must be a mapping with 'Type', got {type(definition).__name__}"
            )
        if not isinstance(definition.get("Type"), str) or not definition["Type"]:
            raise TemplateLoadError(f"{name}: resource {logical_id!r} has no 'Type' (e.g. AWS::Batch::JobQueue)")
        for key in ("Properties", "Metadata"):
            value = definition.get(key)
            if value is not None and not isinstance(value, Mapping):
                raise TemplateLoadError(
                    f"{name}: resource {logical_id!r}: '{key}' must be a mapping, got {type(value).__name__}"
                )
    return body


def load_template_file(path: Path, *, name: str | None = None) -> Template:
    """Read, parse and check one template file; ``name`` is how findings and errors refer to it."""
    name = name or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TemplateLoadError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise TemplateLoadError(f"{name}: is a directory, expected a template file") from None
    except UnicodeDecodeError:
        raise TemplateLoadError(f"{name}: not a text file (not UTF-8); expected a JSON or YAML template") from None
    except OSError as error:
        raise TemplateLoadError(f"{name}: cannot read: {error.strerror or error}") from None
    body = check_template_shape(parse_template_text(text, name=name, kind=_kind_of(path)), name=name)
    return Template(body, path=name)


# ------------------------------------------------------------------------------------------- cdk.out


def _read_manifest(path: Path) -> Mapping[str, Any]:
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise TemplateLoadError(
            f"{path}: invalid JSON at line {error.lineno}, column {error.colno}: {error.msg} (re-run cdk synth)"
        ) from None
    except OSError as error:
        raise TemplateLoadError(f"{path}: cannot read: {error.strerror or error}") from None
    if not isinstance(manifest, Mapping) or not isinstance(manifest.get("artifacts", {}), Mapping):
        raise TemplateLoadError(f"{path}: not a cloud assembly manifest (no 'artifacts' mapping; re-run cdk synth)")
    return manifest


def assembly_templates(directory: Path) -> list[Path]:
    """Template files of a cloud assembly directory, stacks of nested assemblies (Stages) included."""
    found: list[Path] = []
    seen: set[Path] = set()

    def add(path: Path) -> None:
        resolved = path.resolve()
        if resolved not in seen:
            seen.add(resolved)
            found.append(path)

    def visit(assembly: Path, visited: set[Path]) -> None:
        if assembly.resolve() in visited:
            return
        visited.add(assembly.resolve())
        manifest_path = assembly / "manifest.json"
        manifest = _read_manifest(manifest_path)
        for artifact_id, artifact in (manifest.get("artifacts") or {}).items():
            if not isinstance(artifact, Mapping):
                continue
            properties = artifact.get("properties") or {}
            if artifact.get("type") == STACK_ARTIFACT:
                template_file = properties.get("templateFile") if isinstance(properties, Mapping) else None
                if not isinstance(template_file, str):
                    raise TemplateLoadError(f"{manifest_path}: stack artifact {artifact_id!r} names no templateFile")
                template_path = assembly / template_file
                if not template_path.is_file():
                    raise TemplateLoadError(
                        f"{template_path}: listed in {manifest_path} (artifact {artifact_id!r}) but missing; "
                        "re-run cdk synth"
                    )
                add(template_path)
            elif artifact.get("type") == NESTED_ASSEMBLY_ARTIFACT:
                directory_name = properties.get("directoryName") if isinstance(properties, Mapping) else None
                if isinstance(directory_name, str) and (assembly / directory_name / "manifest.json").is_file():
                    visit(assembly / directory_name, visited)
        # Nested stacks (aws_cdk.NestedStack) are assets of their parent, not manifest artifacts.
        for nested in sorted(assembly.glob("*.nested.template.json")):
            add(nested)

    visit(directory, set())
    return found


def templates_in(path: Path) -> list[Path]:
    """The template files a command-line PATH stands for (a file, a cdk.out, or a directory of templates)."""
    if not path.exists():
        raise TemplateLoadError(f"{path}: no such file or directory")
    if not path.is_dir():
        return [path]
    if (path / "manifest.json").is_file():
        found = assembly_templates(path)
    else:
        found = sorted({match for pattern in _TEMPLATE_GLOBS for match in path.rglob(pattern)})
    if not found:
        raise TemplateLoadError(
            f"{path}: no CloudFormation templates found (expected a cdk.out directory with manifest.json "
            "listing stacks, or *.template.json files; run cdk synth first?)"
        )
    return found


def load_templates(paths: Iterable[str | Path]) -> list[Template]:
    """Every template the given command-line paths stand for, in order, each parsed and checked once."""
    templates: list[Template] = []
    seen: set[Path] = set()
    for raw in paths:
        for file in templates_in(Path(raw)):
            resolved = file.resolve()
            if resolved in seen:
                continue
            seen.add(resolved)
            templates.append(load_template_file(file))
    return templates


def load_template_paths(paths: Sequence[str]) -> list[Template]:
    """Load absolute template paths as given (the CDK plugin's ``context.template_paths``)."""
    return [load_template_file(Path(path)) for path in paths]


# --------------------------------------------------------------- acknowledgements in a cloud assembly
#
# `Validations.of(scope).acknowledge(Acknowledgment(id="MnpChecks::MNP101", reason=...))` records
# `aws:cdk:acknowledged-rules` metadata ({"MnpChecks::MNP101": reason}) on `scope`; the cloud assembly keeps
# it in each stack artifact's metadata (inline, or the `additionalMetadataFile` of aws-cdk-lib 2.275).
# The CDK applies it at synth; reading it here lets `mnp lint cdk.out` agree with `cdk synth`.

PACK_NAME = "MnpChecks"
ACKNOWLEDGED_RULES_METADATA = "aws:cdk:acknowledged-rules"  # aws_cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY
LOGICAL_ID_METADATA = "aws:cdk:logicalId"
Metadata = Mapping[str, Sequence[Mapping[str, Any]]]


@dataclass(frozen=True)
class CdkAcknowledgement:
    """One ``Validations.of(scope).acknowledge(...)`` of a rule of this pack, as the assembly records it."""

    rule: str
    reason: str
    construct_path: str  # where it was acknowledged (covers that construct and everything below it)


def stack_metadata(template_path: Path, *, whole_assembly: bool = False) -> dict[str, list[Mapping[str, Any]]]:
    """Construct metadata (``/construct/path -> entries``) of the stack whose template this is, or of every
    stack of its assembly with ``whole_assembly``; {} when the file is not in a cloud assembly."""
    manifest_path = template_path.parent / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        artifacts = manifest.get("artifacts") or {}
    except (OSError, json.JSONDecodeError, AttributeError):
        return {}
    metadata: dict[str, list[Mapping[str, Any]]] = {}
    for artifact in artifacts.values() if isinstance(artifacts, Mapping) else ():
        if not isinstance(artifact, Mapping) or artifact.get("type") != STACK_ARTIFACT:
            continue
        properties = artifact.get("properties") or {}
        if not whole_assembly and properties.get("templateFile") != template_path.name:
            continue
        sources: list[Any] = [artifact.get("metadata") or {}]
        extra = artifact.get("additionalMetadataFile")
        if isinstance(extra, str):
            # Unreadable metadata only loses acknowledgements: findings then stay errors (fails safe).
            with contextlib.suppress(OSError, json.JSONDecodeError):
                sources.append(json.loads((template_path.parent / extra).read_text(encoding="utf-8")))
        for source in sources:
            for path, entries in source.items() if isinstance(source, Mapping) else ():
                if isinstance(entries, list):
                    metadata.setdefault(str(path), []).extend(e for e in entries if isinstance(e, Mapping))
    return metadata


def cdk_acknowledgements(metadata: Metadata, *, pack_name: str = PACK_NAME) -> list[CdkAcknowledgement]:
    """The acknowledgements of ``pack_name::`` rules (other plugins' are not ours to judge)."""
    prefix = f"{pack_name}::"
    found: list[CdkAcknowledgement] = []
    for path, entries in metadata.items():
        for entry in entries:
            data = entry.get("data")
            if entry.get("type") != ACKNOWLEDGED_RULES_METADATA or not isinstance(data, Mapping):
                continue
            for rule_id, reason in data.items():
                if isinstance(rule_id, str) and rule_id.startswith(prefix):
                    found.append(CdkAcknowledgement(rule_id.removeprefix(prefix), str(reason), path.lstrip("/")))
    return found


def logical_id_paths(metadata: Metadata) -> dict[str, str]:
    """Logical ID -> construct path, for templates synthesized without ``aws:cdk:path`` metadata."""
    paths: dict[str, str] = {}
    for path, entries in metadata.items():
        for entry in entries:
            data = entry.get("data")
            if entry.get("type") == LOGICAL_ID_METADATA and isinstance(data, str):
                paths[data] = path.lstrip("/")
    return paths


def closest_acknowledgement(
    rule: str, construct_path: str | None, acknowledgements: Sequence[CdkAcknowledgement]
) -> CdkAcknowledgement | None:
    """The acknowledgement the CDK applies: on the construct itself or its nearest ancestor."""
    if not construct_path:
        return None
    by_path = {ack.construct_path: ack for ack in acknowledgements if ack.rule == rule}
    path = construct_path
    while True:
        if path in by_path:
            return by_path[path]
        if "/" not in path:
            return None
        path = path.rsplit("/", 1)[0]


def check_cdk_acknowledgements(
    acknowledgements: Sequence[CdkAcknowledgement], *, known_ids: set[str], template: str, pack_name: str = PACK_NAME
) -> tuple[list[Finding], list[CdkAcknowledgement]]:
    """An ``MNP000`` error for each acknowledgement without a real reason or of a rule the pack does not
    have (it acknowledges nothing), and the valid acknowledgements."""
    problems: list[Finding] = []
    valid: list[CdkAcknowledgement] = []
    for ack in acknowledgements:
        if ack.rule not in known_ids:
            problem = f"names rule {ack.rule!r}, which the {pack_name} pack does not have"
        elif len(ack.reason.strip()) < MIN_REASON_LENGTH:
            problem = f"gives the reason {ack.reason!r}; a reason must be at least {MIN_REASON_LENGTH} characters"
        else:
            valid.append(ack)
            continue
        problems.append(
            Finding(
                rule=INVALID_ACKNOWLEDGEMENT_ID,
                level=Level.ERROR,
                template=template,
                resource="",
                path=ack.construct_path,
                message=f"The acknowledgement of {pack_name}::{ack.rule} on {ack.construct_path} {problem}.",
                fix=f'Validations.of(scope).acknowledge(Acknowledgment(id="{pack_name}::MNP101", '
                'reason="why this is acceptable here")) with a rule ID from `mnp rules`.',
            )
        )
    return problems, valid


def acknowledge_from_assembly(
    findings: Sequence[Finding], template_path: Path, *, known_ids: set[str]
) -> list[Finding]:
    """Apply the CDK acknowledgements of the template's cloud assembly (none outside one) to ``findings``.

    Returns the findings with acknowledged ones marked (reason and where) and construct paths filled in
    from the assembly, preceded by ``MNP000`` errors for invalid acknowledgements in this template's stack.
    """
    own = stack_metadata(template_path)
    everything = stack_metadata(template_path, whole_assembly=True)
    if not everything:
        return list(findings)
    problems, _ = check_cdk_acknowledgements(
        cdk_acknowledgements(own), known_ids=known_ids, template=str(template_path)
    )
    _, valid = check_cdk_acknowledgements(
        cdk_acknowledgements(everything), known_ids=known_ids, template=str(template_path)
    )
    logical_paths = logical_id_paths(own)
    result: list[Finding] = list(problems)
    for finding in findings:
        path = finding.path or logical_paths.get(finding.resource)
        if path != finding.path:
            finding = replace(finding, path=path)  # the construct path, also for apps without path metadata
        closest = None if finding.acknowledged is not None else closest_acknowledgement(finding.rule, path, valid)
        if closest is not None:
            reason = f"{closest.reason} (Validations.acknowledge on {closest.construct_path})"
            finding = replace(finding, acknowledged=reason)
        result.append(finding)
    return result
