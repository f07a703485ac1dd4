"""MNP semantics over a :class:`~mnp_toolkit.lint.template.Template`, one module per kind of resource.

Terms (from the rule catalog, ``spec/mnp-rules.md``):

* **MNP job definition**: ``AWS::Batch::JobDefinition`` with ``Type: multinode``;
* **MNP queue**: a job queue with resource metadata ``{"mnp:queue": true}``; where a template has MNP job
  definitions and marks no queue, every job queue in it is taken as an MNP queue;
* **MNP compute environment**: one in the ``ComputeEnvironmentOrder`` of an MNP queue.

Everything returns :data:`~mnp_toolkit.lint.template.UNKNOWN` (or ``None`` for "absent") rather than
guessing. Whole-template answers are built once per template as indexes
(:func:`~mnp_toolkit.lint.cache.per_template`), per-resource answers once per resource
(:func:`~mnp_toolkit.lint.cache.per_resource`), so a lint stays linear in the template's size. Cached
answers are shared: callers must not change the lists and dicts they get.
"""
