"""What every adapter's CloudFormation model has in common, in one place.

moto asks each CloudFormation model for its type, its name property, its physical id, whether it is
created, and (for ``Fn::GetAtt``) which attributes it has and their values. For our adapters most
of that is the same: a fixed type and name property, created at once, and every attribute AWS
documents for the type answers the physical id (an ARN, a name or an ``Id``).

It also holds :func:`already_done`, the one way adapters let an EC2 error pass that says the call
found the state it wanted (already gone, already granted).

The models' pieces are *mixins*, not subclasses of ``CloudFormationModel``, on purpose: moto builds
its model map from ``CloudFormationModel.__subclasses__()``, which lists only direct subclasses. An
adapter must therefore name ``CloudFormationModel`` among its own bases (after the mixin, so that the
mixin's methods win over moto's abstract defaults)::

    class JobQueueAdapter(PhysicalIdAttributes, CloudFormationModel): ...
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Iterator
from typing import ClassVar

from moto.core.exceptions import ServiceException


class AdapterModel:
    """Type, name property and ``is_created`` of an adapter's CloudFormation model.

    Subclasses set :attr:`CFN_TYPE` (and :attr:`CFN_NAME_PROPERTY` when the type has a name property)
    and define ``physical_resource_id``.
    """

    #: The CloudFormation resource type, e.g. ``AWS::Batch::JobQueue``.
    CFN_TYPE: ClassVar[str]
    #: The property that names the resource (moto generates a name when it is absent); "" for none.
    CFN_NAME_PROPERTY: ClassVar[str] = ""

    @property
    def physical_resource_id(self) -> str:
        raise NotImplementedError(f"{type(self).__name__} must define physical_resource_id")

    @classmethod
    def cloudformation_name_type(cls) -> str:
        return cls.CFN_NAME_PROPERTY

    @classmethod
    def cloudformation_type(cls) -> str:
        return cls.CFN_TYPE

    def is_created(self) -> bool:
        # The backend call that creates the resource has returned: nothing is left pending.
        return True


class PhysicalIdAttributes(AdapterModel):
    """An adapter whose every ``Fn::GetAtt`` attribute answers its physical id, as in AWS for the
    types we adapt (``ComputeEnvironmentArn``, ``JobQueueArn``, ``GroupName``, ``Id`` ...)."""

    #: The attributes ``Fn::GetAtt`` accepts; any other fails the template as it does in AWS.
    CFN_ATTRIBUTES: ClassVar[frozenset[str]]

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.CFN_ATTRIBUTES

    def get_cfn_attribute(self, attribute_name: str) -> str:
        if attribute_name in self.CFN_ATTRIBUTES:
            return self.physical_resource_id
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        raise UnformattedGetAttTemplateException()


@contextlib.contextmanager
def already_done(codes: Collection[str]) -> Iterator[None]:
    """Let a moto ``ServiceException`` whose error code is in ``codes`` pass (re-raise any other): the
    caller treats those codes as "the state I wanted is already there", as AWS's handlers do."""
    try:
        yield
    except ServiceException as error:
        if getattr(error, "code", None) not in codes:
            raise
