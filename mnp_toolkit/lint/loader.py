"""Find and parse CloudFormation templates for ``mnp lint``: template files (JSON or YAML) and ``cdk.out``.

* A **file** is JSON when it ends in ``.json``, YAML when it ends in ``.yaml``/``.yml``, and otherwise JSON
  if it parses as JSON, else YAML. YAML may use CloudFormation's short-form intrinsics (``!Ref``,
  ``!GetAtt a.b``, ``!Sub`` ...); they become the long form (``{"Ref": ...}``) the rules understand.
  A file named on the command line (or found in a directory) must be a mapping with ``Resources``:
  a config file or a ``package.json`` is not a template, and saying "passed" about it would be a lie.
* A **directory** is read as a cloud assembly (``cdk.out``): every ``aws:cloudformation:stack`` artifact
  of ``manifest.json`` (nested assemblies of CDK Stages included) plus nested-stack templates
  (``*.nested.template.json``). Without a manifest, its ``*.template.json``/``.yaml``/``.yml`` files
  (symbolic links to directories are not followed, so a link loop ends nothing).

Hostile input (``mnp lint`` runs in CI on pull requests from anyone) ends in a :class:`TemplateLoadError`
in bounded time and memory, never a hang or a traceback: only regular files are read (a FIFO would block
for ever), at most :data:`MAX_TEMPLATE_BYTES` of them, as UTF-8; the parse limits (no YAML aliases,
nesting, duplicate keys, integer digits) are :mod:`mnp_toolkit.lint.source`'s.

It also reads the acknowledgements a cloud assembly records (``Validations.of(scope).acknowledge``), so
that ``mnp lint cdk.out`` and the synth-time plugin agree (:func:`acknowledge_from_assembly`).

Every problem raises :class:`TemplateLoadError` with one line naming the file, what is wrong and what to
do: ``mnp lint`` turns it into exit code 2 (an unreadable input is never a clean result).

Plain Python (json + PyYAML only), so ``mnp lint`` starts fast.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

from mnp_toolkit.files import FileRefused, read_regular_file
from mnp_toolkit.lint.engine import INVALID_ACKNOWLEDGEMENT_ID, MIN_REASON_LENGTH
from mnp_toolkit.lint.findings import Finding
from mnp_toolkit.lint.language_extensions import FOR_EACH_PREFIX, MAX_LOOP_DEPTH, ExpansionTooLarge
from mnp_toolkit.lint.rule import Level
from mnp_toolkit.lint.source import (
    SHORT_FORM_TAGS,
    JsonSource,
    Source,
    SourceError,
    parse_json,
    parse_yaml,
    parse_yaml_document,
)
from mnp_toolkit.lint.template import Template, is_intrinsic_key

__all__ = [
    "MAX_TEMPLATE_BYTES",
    "SHORT_FORM_TAGS",
    "TemplateLoadError",
    "load_template_file",
    "load_templates",
    "parse_yaml",
    "templates_in",
]

STACK_ARTIFACT = "aws:cloudformation:stack"
NESTED_ASSEMBLY_ARTIFACT = "cdk:cloud-assembly"
_TEMPLATE_GLOBS = ("*.template.json", "*.template.yaml", "*.template.yml")
_MAPPING_SECTIONS = ("Resources", "Parameters", "Mappings", "Metadata", "Conditions", "Outputs")

#: The largest file read, in bytes. CloudFormation itself takes at most 1 MB (a template body in S3; 51,200
#: bytes inline), so 16 MiB leaves room for what is linted but never deployed as one file: the 5,000-resource
#: bench template is 1.4 MB compact and about 3 MB as the CDK indents it, and a 15 MiB (58,000-resource) JSON
#: template still lints in seconds within 200 MB here. The limit is what bounds memory on a huge input.
MAX_TEMPLATE_BYTES = 16 * 1024 * 1024
#: Manifests, metadata and asset files of a cloud assembly are the CDK's own and small.
MAX_ASSEMBLY_FILE_BYTES = MAX_TEMPLATE_BYTES
#: How much of a path an error message shows (a name of thousands of characters is cut in the middle).
_NAME_SHOWN = 160


class TemplateLoadError(Exception):
    """An input that cannot be read or parsed as a template (one line: file, problem, fix)."""


def shown_path(path: str | os.PathLike[str]) -> str:
    """A path as error messages name it: as given, cut in the middle past 160 characters."""
    text = os.fspath(path)
    if len(text) <= _NAME_SHOWN:
        return text
    half = _NAME_SHOWN // 2 - 2
    return f"{text[:half]}...{text[-half:]} ({len(text):,} characters)"


def _os_problem(error: OSError) -> str:
    if error.errno == errno.ELOOP:
        return "too many levels of symbolic links (a symlink loop?)"
    if error.errno == errno.ENAMETOOLONG:
        return "the file name is too long for this system"
    if error.errno in (errno.ENOENT, errno.ENOTDIR):
        return "no such file or directory"
    if error.errno == errno.EACCES:
        return "permission denied"
    return f"cannot read: {error.strerror or error}"


def _stat(path: Path, *, name: str) -> os.stat_result:
    try:
        return os.stat(path)
    except OSError as error:
        raise TemplateLoadError(f"{name}: {_os_problem(error)}") from None
    except ValueError:  # an embedded NUL byte
        raise TemplateLoadError(f"{name}: not a valid file name") from None


def read_text_file(path: Path, *, name: str | None = None, limit: int = MAX_TEMPLATE_BYTES) -> str:
    """The UTF-8 text of a regular file of at most ``limit`` bytes (a leading byte-order mark dropped).

    Refuses, with one line naming the file: what is missing or unreadable, a directory, anything that is
    not a regular file (a FIFO would block for ever, a device never ends), a larger file, bytes that are
    not UTF-8. The file is opened non-blocking and checked again after opening, so a file swapped for a
    FIFO between the two checks cannot hang the reader.
    """
    name = name or shown_path(path)
    try:
        data = read_regular_file(path, limit=limit)
    except FileRefused as refused:
        raise TemplateLoadError(f"{name}: {_refusal(refused, limit)}") from None
    except OSError as error:
        raise TemplateLoadError(f"{name}: {_os_problem(error)}") from None
    except ValueError:  # an embedded NUL byte
        raise TemplateLoadError(f"{name}: not a valid file name") from None
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as error:
        raise TemplateLoadError(
            f"{name}: not UTF-8 text (byte 0x{data[error.start]:02x} at offset {error.start:,}); "
            "expected a JSON or YAML template"
        ) from None


def _refusal(refused: FileRefused, limit: int) -> str:
    if refused.kind == "directory":
        return "is a directory, expected a template file"
    if refused.kind == "special":
        return "not a regular file (a FIFO, socket or device); name a template file or a cdk.out directory"
    if refused.kind == "changed":
        return "not a regular file (it changed while being read)"
    return _too_big(refused.size, limit)


def _too_big(size: int, limit: int) -> str:
    return (
        f"{size:,} bytes, more than the {limit:,} bytes mnp lint reads (CloudFormation itself takes at most "
        "1 MB); split the template or lint the cdk.out it comes from"
    )


# ------------------------------------------------------------------------------------------ templates


def parse_template_source(text: str, *, name: str, kind: str | None = None) -> tuple[Any, Source]:
    """Parse a template body and keep where its values sit (for the line and column of findings)."""
    if kind in (None, "json"):
        try:
            return parse_json(text), JsonSource(text)
        except SourceError as error:
            # A JSON-looking text (or a .json file) with a real problem is reported as JSON; else try YAML.
            if kind == "json" or not error.problem.startswith("invalid JSON"):
                raise TemplateLoadError(f"{name}: {error}") from None
    try:
        body, source = parse_yaml_document(text)
    except SourceError as error:
        label = "" if kind == "yaml" else " (neither JSON nor YAML)"
        raise TemplateLoadError(f"{name}: {error}{label}") from None
    return body, source


def _kind_of(path: Path) -> str | None:
    suffix = path.suffix.lower()
    if suffix == ".json":
        return "json"
    if suffix in (".yaml", ".yml"):
        return "yaml"
    return None


def _key_list(body: Mapping[Any, Any]) -> str:
    keys = [str(key) for key in list(body)[:5]]
    more = ", ..." if len(body) > 5 else ""
    return ", ".join(json.dumps(key)[:40] for key in keys) + more


def check_template_shape(body: Any, *, name: str, require_resources: bool = True) -> Mapping[str, Any]:
    """Reject what is not a CloudFormation template, naming the part that is wrong.

    ``require_resources``: a file named on the command line must have a ``Resources`` mapping (CloudFormation
    requires one); a stack template listed in a cloud assembly may lack it (an empty CDK stack).
    """
    if not isinstance(body, Mapping):
        kind = "empty" if body is None else f"a {type(body).__name__}"
        raise TemplateLoadError(
            f"{name}: not a CloudFormation template: the document is {kind}, expected a mapping with 'Resources'"
        )
    if require_resources and "Resources" not in body:
        if "artifacts" in body and "version" in body:
            hint = "it is a cloud assembly manifest: lint its directory instead (mnp lint cdk.out)"
        elif not body:
            hint = "the mapping is empty"
        else:
            hint = f"its top-level keys are {_key_list(body)}"
        raise TemplateLoadError(
            f"{name}: not a CloudFormation template: no 'Resources' section ({hint}); CloudFormation requires one"
        )
    for section in _MAPPING_SECTIONS:
        value = body.get(section)
        if value is not None and not isinstance(value, Mapping):
            raise TemplateLoadError(f"{name}: '{section}' must be a mapping, got {type(value).__name__}")
    _check_mappings(body.get("Mappings") or {}, name=name)
    _check_resources(body.get("Resources") or {}, name=name, depth=0)
    return body


def _check_resources(resources: Mapping[Any, Any], *, name: str, depth: int) -> None:
    for logical_id, definition in resources.items():
        # The common case first and without formatting: this runs once per resource.
        if (
            type(definition) is dict
            and type(logical_id) is str
            and type(definition.get("Type")) is str
            and definition["Type"]
            and type(definition.get("Properties", {})) is dict
            and type(definition.get("Metadata", {})) is dict
        ):
            continue
        if isinstance(logical_id, str) and logical_id.startswith(FOR_EACH_PREFIX):
            _check_loop_shape(logical_id, definition, name=name, depth=depth)
            continue
        _check_resource_shape(logical_id, definition, name=name)


def _check_loop_shape(key: str, loop: Any, *, name: str, depth: int) -> None:
    """``Fn::ForEach::Name: [Identifier, Collection, {OutputKey: resource, ...}]`` (AWS::LanguageExtensions;
    CloudFormation Template Reference, Fn::ForEach), nested at most five deep."""
    shown = json.dumps(key)[:60]
    if not (isinstance(loop, list) and len(loop) == 3 and isinstance(loop[0], str) and loop[0]):
        raise TemplateLoadError(
            f"{name}: resource loop {shown} must be a list of an identifier, a collection and a mapping of "
            "resources (Fn::ForEach, AWS::LanguageExtensions)"
        )
    if not isinstance(loop[2], Mapping):
        raise TemplateLoadError(f"{name}: resource loop {shown}: its third item must be a mapping of resources")
    if depth + 1 > MAX_LOOP_DEPTH:
        raise TemplateLoadError(f"{name}: resource loop {shown} is nested more than {MAX_LOOP_DEPTH} deep")
    _check_resources(loop[2], name=name, depth=depth + 1)


def _check_mappings(mappings: Mapping[str, Any], *, name: str) -> None:
    """CloudFormation takes only literal values in ``Mappings`` ("You can't include parameters, pseudo
    parameters, or intrinsic functions in the Mappings section", CloudFormation User Guide, Mappings
    syntax). A ``Fn::FindInMap`` there could also point back at itself: refuse it before it is resolved.

    Literal objects inside a value's list are data, not functions, and are kept: aws-genomics-workflows
    maps ``tags`` to a list of ``{Key, Value}`` objects, which CloudFormation deploys and cfn-lint's
    Mappings schema allows (an ``array`` of any items). Only an intrinsic function (a one-key ``Ref``,
    ``Condition`` or ``Fn::...`` object) at any depth is refused: the resolver would evaluate it."""
    for map_name, top in mappings.items():
        for top_key, second in top.items() if isinstance(top, Mapping) else ():
            for second_key, value in second.items() if isinstance(second, Mapping) else ():
                function = _intrinsic_key_in(value)
                if function is not None:
                    where = "/".join(json.dumps(str(part))[:40] for part in (map_name, top_key, second_key))
                    raise TemplateLoadError(
                        f"{name}: Mappings {where}: a mapping value must be a string, number or list, not "
                        f"{json.dumps(str(function))[:40]} (CloudFormation takes no intrinsic functions in Mappings)"
                    )


def _intrinsic_key_in(value: Any) -> str | None:
    """The key of the first intrinsic function in ``value`` (a one-key ``Ref``/``Condition``/``Fn::...``
    mapping, as :func:`~mnp_toolkit.lint.template.is_literal` sees it), or None for a literal value. Lists
    and objects are walked without recursion, so a value nested to the loader's limit costs no stack."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, Mapping):
            if len(item) == 1 and is_intrinsic_key(next(iter(item))):
                return str(next(iter(item)))
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return None


def _check_resource_shape(logical_id: Any, definition: Any, *, name: str) -> None:
    shown = json.dumps(str(logical_id))[:60]
    if not isinstance(logical_id, str):
        raise TemplateLoadError(f"{name}: resource {shown}: a logical ID must be a string")
    if not isinstance(definition, Mapping):
        raise TemplateLoadError(
            f"{name}: resource {shown} must be a mapping with 'Type', got {type(definition).__name__}"
        )
    if not isinstance(definition.get("Type"), str) or not definition["Type"]:
        raise TemplateLoadError(f"{name}: resource {shown} has no 'Type' (e.g. AWS::Batch::JobQueue)")
    for key in ("Properties", "Metadata"):
        value = definition.get(key)
        if value is not None and not isinstance(value, Mapping):
            raise TemplateLoadError(f"{name}: resource {shown}: '{key}' must be a mapping, got {type(value).__name__}")


def load_template_file(path: Path, *, name: str | None = None, require_resources: bool = True) -> Template:
    """Read, parse and check one template file; ``name`` is how findings and errors refer to it."""
    name = name or str(path)
    text = read_text_file(path, name=shown_path(name))
    body, source = parse_template_source(text, name=shown_path(name), kind=_kind_of(path))
    check_template_shape(body, name=shown_path(name), require_resources=require_resources)
    try:
        return Template(body, path=name, source=source)
    except ExpansionTooLarge as error:
        raise TemplateLoadError(f"{shown_path(name)}: {error}") from None


# ------------------------------------------------------------------------------------------- cdk.out


def _read_manifest(path: Path) -> Mapping[str, Any]:
    name = shown_path(path)
    text = read_text_file(path, name=name, limit=MAX_ASSEMBLY_FILE_BYTES)
    try:
        manifest = parse_json(text)
    except SourceError as error:
        raise TemplateLoadError(f"{name}: {error} (re-run cdk synth)") from None
    if not isinstance(manifest, Mapping) or not isinstance(manifest.get("artifacts", {}), Mapping):
        raise TemplateLoadError(f"{name}: not a cloud assembly manifest (no 'artifacts' mapping; re-run cdk synth)")
    return manifest


def _inside(assembly: Path, relative: str, *, manifest: Path, artifact: str, what: str) -> Path:
    """``assembly / relative``, refusing a name that leaves the assembly (the CDK writes none)."""
    shown = json.dumps(relative)[:80]
    if not relative or os.path.isabs(relative) or ".." in Path(relative).parts or "\0" in relative:
        raise TemplateLoadError(
            f"{shown_path(manifest)}: artifact {json.dumps(artifact)[:60]} names {what} {shown}, which is not a "
            "file inside the cloud assembly; re-run cdk synth"
        )
    return assembly / relative


def _real(path: Path) -> str:
    return os.path.realpath(path)  # never raises, symlink loops included (Path.resolve may)


def _is_file(path: Path, *, name: str) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except FileNotFoundError:
        return False
    except OSError as error:
        raise TemplateLoadError(f"{name}: {_os_problem(error)}") from None


def assembly_templates(directory: Path) -> list[Path]:
    """Template files of a cloud assembly directory, stacks of nested assemblies (Stages) included."""
    found: list[Path] = []
    seen: set[str] = set()
    visited: set[str] = set()

    def add(path: Path) -> None:
        resolved = _real(path)
        if resolved not in seen:
            seen.add(resolved)
            found.append(path)

    pending = [directory]
    while pending:  # a work list, not recursion: nested assemblies may nest arbitrarily deep
        assembly = pending.pop(0)
        if _real(assembly) in visited:
            continue
        visited.add(_real(assembly))
        manifest_path = assembly / "manifest.json"
        manifest = _read_manifest(manifest_path)
        for artifact_id, artifact in (manifest.get("artifacts") or {}).items():
            if not isinstance(artifact, Mapping):
                continue
            properties = artifact.get("properties") or {}
            if artifact.get("type") == STACK_ARTIFACT:
                template_file = properties.get("templateFile") if isinstance(properties, Mapping) else None
                if not isinstance(template_file, str):
                    raise TemplateLoadError(
                        f"{shown_path(manifest_path)}: stack artifact {json.dumps(str(artifact_id))[:60]} names "
                        "no templateFile; re-run cdk synth"
                    )
                template_path = _inside(
                    assembly, template_file, manifest=manifest_path, artifact=str(artifact_id), what="templateFile"
                )
                if not _is_file(template_path, name=shown_path(template_path)):
                    raise TemplateLoadError(
                        f"{shown_path(template_path)}: listed in {shown_path(manifest_path)} (artifact "
                        f"{json.dumps(str(artifact_id))[:60]}) but missing; re-run cdk synth"
                    )
                add(template_path)
            elif artifact.get("type") == NESTED_ASSEMBLY_ARTIFACT:
                directory_name = properties.get("directoryName") if isinstance(properties, Mapping) else None
                if isinstance(directory_name, str):
                    nested = _inside(
                        assembly,
                        directory_name,
                        manifest=manifest_path,
                        artifact=str(artifact_id),
                        what="directoryName",
                    )
                    if _is_file(nested / "manifest.json", name=shown_path(nested / "manifest.json")):
                        pending.append(nested)
        # Nested stacks (aws_cdk.NestedStack) are assets of their parent, not manifest artifacts.
        for nested_template in sorted(assembly.glob("*.nested.template.json")):
            add(nested_template)
    return found


def _template_files(directory: Path) -> list[Path]:
    """``*.template.json``/``.yaml``/``.yml`` under ``directory``; links to directories are not followed."""
    found: list[Path] = []

    def unreadable(error: OSError) -> None:
        raise TemplateLoadError(f"{shown_path(error.filename or directory)}: {_os_problem(error)}")

    for root, _, files in os.walk(directory, onerror=unreadable, followlinks=False):
        found.extend(Path(root) / file for file in files if any(fnmatch(file, glob) for glob in _TEMPLATE_GLOBS))
    return sorted(found)


def templates_in(path: Path) -> list[Path]:
    """The template files a command-line PATH stands for (a file, a cdk.out, or a directory of templates)."""
    if not os.fspath(path):
        raise TemplateLoadError("'': an empty path; name a template file or a cdk.out directory")
    name = shown_path(path)
    info = _stat(path, name=name)
    if not stat.S_ISDIR(info.st_mode):
        return [path]
    if _is_file(path / "manifest.json", name=shown_path(path / "manifest.json")):
        found = assembly_templates(path)
    else:
        found = _template_files(path)
    if not found:
        raise TemplateLoadError(
            f"{name}: no CloudFormation templates found (expected a cdk.out directory with manifest.json "
            "listing stacks, or *.template.json files; run cdk synth first?)"
        )
    return found


def load_templates(paths: Iterable[str | Path]) -> list[Template]:
    """Every template the given command-line paths stand for, in order, each parsed and checked once.

    Templates listed by a cloud assembly's manifest may lack ``Resources`` (an empty CDK stack); any other
    file must have them.
    """
    templates: list[Template] = []
    seen: set[str] = set()
    for raw in paths:
        if isinstance(raw, str) and not raw:
            raise TemplateLoadError("'': an empty path; name a template file or a cdk.out directory")
        path = Path(raw)
        listed = _is_assembly(path)  # every template of a cloud assembly is a stack the manifest names
        for file in templates_in(path):
            resolved = _real(file)
            if resolved in seen:
                continue
            seen.add(resolved)
            templates.append(load_template_file(file, require_resources=not listed))
    return templates


def _is_assembly(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.stat(path).st_mode) and stat.S_ISREG(os.stat(path / "manifest.json").st_mode)
    except (OSError, ValueError):
        return False


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
        manifest = parse_json(read_text_file(manifest_path, limit=MAX_ASSEMBLY_FILE_BYTES))
        artifacts = manifest.get("artifacts") or {}
    except (TemplateLoadError, SourceError, AttributeError):
        return {}
    metadata: dict[str, list[Mapping[str, Any]]] = {}
    for artifact in artifacts.values() if isinstance(artifacts, Mapping) else ():
        if not isinstance(artifact, Mapping) or artifact.get("type") != STACK_ARTIFACT:
            continue
        properties = artifact.get("properties")
        template_file = properties.get("templateFile") if isinstance(properties, Mapping) else None
        if not whole_assembly and template_file != template_path.name:
            continue
        sources: list[Any] = [artifact.get("metadata") or {}]
        extra = artifact.get("additionalMetadataFile")
        if isinstance(extra, str):
            # Unreadable metadata only loses acknowledgements: findings then stay errors (fails safe).
            with contextlib.suppress(TemplateLoadError, SourceError):
                extra_path = _inside(
                    template_path.parent, extra, manifest=manifest_path, artifact="", what="additionalMetadataFile"
                )
                sources.append(parse_json(read_text_file(extra_path, limit=MAX_ASSEMBLY_FILE_BYTES)))
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
