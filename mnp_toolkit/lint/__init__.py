"""The rule pack's lint side: the template model, the engine, the rules, the loader and the reports.

It imports neither aws-cdk-lib nor boto3 (``mnp lint`` starts fast and runs where neither is installed);
the CDK-facing part is :mod:`mnp_toolkit.cdk_plugin`.

* :mod:`~mnp_toolkit.lint.template`: a read-only template and the resolution of intrinsics;
* :mod:`~mnp_toolkit.lint.model`: MNP facts over a template (queues, compute environments, launch
  templates, security groups, network, job definitions);
* :mod:`~mnp_toolkit.lint.rule`, :mod:`~mnp_toolkit.lint.rules`, :mod:`~mnp_toolkit.lint.packs`: the rules;
* :mod:`~mnp_toolkit.lint.engine`, :mod:`~mnp_toolkit.lint.findings`: running them, acknowledgements;
* :mod:`~mnp_toolkit.lint.loader`, :mod:`~mnp_toolkit.lint.report`: reading inputs, writing reports.
"""
