"""Memoized template queries: what keeps a lint linear in the size of the template."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from mnp_toolkit.lint.template import Resource, Template

_T = TypeVar("_T")


_CACHE_ATTRIBUTE = "_mnp_query_cache"


def _query_cache(template: Template) -> dict[Any, Any]:
    # Kept on the template itself: answers hold Resources, which point back to their template, so a cache
    # outside it (even a WeakKeyDictionary) would keep every linted template alive.
    cache: dict[Any, Any] | None = vars(template).get(_CACHE_ATTRIBUTE)
    if cache is None:
        cache = {}
        setattr(template, _CACHE_ATTRIBUTE, cache)
    return cache


def per_template(function: Callable[[Template], _T]) -> Callable[[Template], _T]:
    """Memoize a whole-template query (which queues are MNP, which CEs use a launch template...).

    The engine runs every rule once per resource, and many rules ask the same whole-template question;
    answered afresh each time, a lint is quadratic in the template's size (bench/bench_lint.py). A
    :class:`Template` is read-only once built, so an answer stays valid for the template's lifetime (the
    cache lives on the template and goes with it). Callers must not mutate what the function returns.
    """

    @functools.wraps(function)
    def cached(template: Template) -> _T:
        cache = _query_cache(template)
        try:
            return cast(_T, cache[cached])
        except KeyError:
            value = cache[cached] = function(template)
            return value

    return cached


def per_resource(function: Callable[[Resource], _T]) -> Callable[[Resource], _T]:
    """Memoize a query about one resource (its launch template, security groups, subnets, vCPU need...).

    Rules ask these for many resources of the template in turn (every CE for every launch template), so an
    uncached helper makes a lint quadratic. Keyed by logical ID within the resource's template; same
    contract as :func:`per_template` (read-only templates, callers do not mutate results).
    """

    @functools.wraps(function)
    def cached(resource: Resource) -> _T:
        answers = _query_cache(resource.template).setdefault(cached, {})
        try:
            return cast(_T, answers[resource.logical_id])
        except KeyError:
            value = answers[resource.logical_id] = function(resource)
            return value

    return cached
