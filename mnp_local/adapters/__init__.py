"""Small adapters that fill gaps in moto so that our CDK stacks deploy into a local moto server.

Each module covers one resource type and says which moto gap it fills (with the moto version) and
what AWS does instead. None changes a template: they make moto behave as CloudFormation and the
AWS APIs do for what our stacks use.

moto builds its CloudFormation model map from ``CloudFormationModel.__subclasses__()`` with the last
subclass of a type winning, so defining an adapter class (importing its module) is what registers
it; :func:`register_all` imports them all, adds the EC2 API actions, and drops moto's cached map in
case it was built before.
"""

from __future__ import annotations

from types import ModuleType

ADAPTER_MODULES: tuple[str, ...] = (
    "mnp_local.adapters.template_url",
    "mnp_local.adapters.change_sets",
    "mnp_local.adapters.ssm_parameters",
    "mnp_local.adapters.placement_group",
    "mnp_local.adapters.route_table_association",
    "mnp_local.adapters.security_group_egress",
    "mnp_local.adapters.restrict_default_security_group",
    "mnp_local.adapters.batch_compute_environment",
    "mnp_local.adapters.batch_job_queue",
    "mnp_local.adapters.batch_job_definition",
    "mnp_local.adapters.ec2_deletes",
    "mnp_local.adapters.lambda_function",
    "mnp_local.adapters.get_azs",
)


def register_all() -> list[ModuleType]:
    """Register every adapter with moto (idempotent); return the adapter modules."""
    import importlib

    from moto.cloudformation import parsing

    modules = [importlib.import_module(name) for name in ADAPTER_MODULES]
    for module in modules:
        register = getattr(module, "register", None)
        if register is not None:
            register()
    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()
    return modules
