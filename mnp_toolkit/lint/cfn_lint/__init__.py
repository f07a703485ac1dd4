"""The ``MnpChecks`` rule pack as cfn-lint rules: ``cfn-lint -a mnp_toolkit.lint.cfn_lint template.yaml``.

cfn-lint imports the module named by ``-a`` (``Rules.create_from_module`` in cfn-lint 1.58.0: a value that is
not a directory is imported as a module) and instantiates every ``CloudFormationLintRule`` subclass among
its attributes. This module defines one class per MNP rule, generated from the pack so that it cannot drift:

* the ID is the MNP number in cfn-lint's free 9xxx range, with cfn-lint's severity letter from the MNP
  level: ``MNP011`` (error) is ``E9011``, ``MNP109`` (warning) is ``W9109``; ``E9000`` reports invalid
  acknowledgements (``MNP000``);
* ``I9999`` (informational, shown with ``-c I``) reports what a rule could not verify, which ``mnp lint``
  shows with ``--verbose``;
* findings acknowledged in the template (``mnp:acknowledge``) or, in a ``cdk.out``, with
  ``Validations.of(scope).acknowledge`` are not reported.

Each rule runs the same engine and rule code as ``mnp lint`` (the pack runs once per template, shared by all
classes), and cfn-lint places each match at the property the finding names. Requires cfn-lint (a
development dependency, pinned in requirements-dev.txt); ``mnp lint`` itself never imports this module.
"""

from __future__ import annotations

from mnp_toolkit.lint.cfn_lint import _base
from mnp_toolkit.lint.packs import mnp_pack

#: cfn-lint rule ID -> the class, for tests and docs.
RULE_CLASSES: dict[str, type] = {}


def _register(rule_class: type) -> None:
    globals()[rule_class.__name__] = RULE_CLASSES[rule_class.id] = rule_class  # type: ignore[attr-defined]


for _rule in mnp_pack().rules:
    _register(_base.rule_class(_rule.id, _rule.level, _rule.info, _rule.explanation, _rule.source, _rule.resource_type))
_register(_base.rule_class(*_base.INVALID_ACKNOWLEDGEMENT))
del _rule  # cfn-lint instantiates every class among this module's attributes: keep only the rules


class MnpCouldNotVerify(_base.MnpCfnLintRule):
    """What a rule of the pack could not verify (a value only a deployment fixes): informational."""

    id = _base.COULD_NOT_VERIFY_ID
    shortdesc = "MNP: a rule could not verify a value the template does not fix"
    description = (
        "A parameter, an import, an SSM value or a condition decides a value an MNP rule checks; the pack "
        "does not guess (mnp lint --verbose shows the same)."
    )
    source_url = "docs/rule-pack.md"
    tags = ["mnp", "batch"]
    only_infos = True


RULE_CLASSES[MnpCouldNotVerify.id] = MnpCouldNotVerify
