"""The single source of AWS Batch multi-node parallel (MNP) semantics, standard library only.

* :mod:`~mnp_toolkit.core.limits`: node, range, retry, memory and security-group limits, reserved names,
  metadata keys, with the AWS page each comes from;
* :mod:`~mnp_toolkit.core.target_nodes`: ``TargetNodes`` syntax, coverage of node indexes, which range's
  settings apply to a node (nested ranges: the inner one wins) and how two ranges relate;
* :mod:`~mnp_toolkit.core.job_spec`: what a node asks for, the vCPUs a job needs, and the verdicts that the
  config, the constructs and the rule pack must share;
* :mod:`~mnp_toolkit.core.node_groups`: the node groups of a submitted job as Batch runs them (node overrides
  applied, the ``numNodes`` override judged, the asks of each range, ``Ref::`` parameters substituted);
* :mod:`~mnp_toolkit.core.instance_types`: instance-type facts (vCPUs, memory left to containers, GPUs,
  EFA) and the instance-type lists of compute environments;
* :mod:`~mnp_toolkit.core.regions`: the AWS Region names, by partition, that a config may pin.

The config (``mnp_toolkit.config``), the constructs (``constructs_lib``), the rule pack
(``mnp_toolkit.lint``), ``mnp submit`` (``mnp_toolkit.ops``) and the local runner (``mnp_local.runner``)
call this package; none of them re-implements it. It imports nothing outside the standard library.
"""
