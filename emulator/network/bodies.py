"""A create or update body checked against a resource's attribute table, as Neutron's
``Controller.prepare_request_body`` and neutron-lib's ``AttributeInfo`` do: the resource
key, unknown attributes, ``project_id``/``tenant_id``, attributes a create or an update may
not set, defaults, converters and validators; then the attribute policies
(``create_<resource>:<attribute>``) against who asks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from emulator.context import RequestContext
from emulator.network.attributes import NOT_SPECIFIED, REQUIRED, Attribute, Rule
from emulator.network.errors import bad_request, not_authorized


def items(body: Any, resource: str, collection: str, bulk: bool = True) -> list[Any]:
    """The resource objects of a create body: one, or several for a bulk create."""
    if not body:
        raise bad_request("Resource body required")
    if not isinstance(body, dict):
        raise bad_request("Body contains invalid data")
    if collection in body:
        if not bulk:
            raise bad_request("Bulk operation not supported")
        many = body[collection]
        if not many:
            raise bad_request("Resources required")
        if not isinstance(many, list):
            raise bad_request("Body contains invalid data")
        return [item.get(resource, item) if isinstance(item, dict) else item
                for item in many]
    return [item_of(body, resource)]


def item_of(body: Any, resource: str) -> Any:
    """``body[resource]`` (an update's)."""
    if not body:
        raise bad_request("Resource body required")
    if not isinstance(body, dict):
        raise bad_request("Body contains invalid data")
    item = body.get(resource)
    if item is None:
        raise bad_request(f"Unable to find '{resource}' in request body")
    return item


def _project(item: dict[str, Any], ctx: RequestContext, create: bool) -> None:
    """neutron-lib's ``populate_project_id``: both names, equal, and the caller's own
    unless an admin says otherwise."""
    if "tenant_id" in item and "project_id" not in item:
        item["project_id"] = item["tenant_id"]
    elif "project_id" in item and "tenant_id" not in item:
        item["tenant_id"] = item["project_id"]
    if item.get("project_id") != item.get("tenant_id"):
        raise bad_request("'project_id' and 'tenant_id' do not match")
    if "project_id" in item and item["project_id"] != ctx.project_id and not ctx.is_admin:
        raise bad_request("Specifying 'project_id' other than the authenticated project in "
                          "request is not allowed for the current user.")
    if create and "project_id" not in item:
        item["project_id"] = item["tenant_id"] = ctx.project_id


def _convert(attributes: Mapping[str, Attribute], item: dict[str, Any]) -> None:
    for name, attribute in attributes.items():
        value = item.get(name, NOT_SPECIFIED)
        if value is NOT_SPECIFIED:
            continue
        if attribute.convert is not None:
            value = item[name] = attribute.convert(value)
        if attribute.validate is not None:
            reason = attribute.validate(value)
            if reason:
                raise bad_request(f"Invalid input for {name}. Reason: {reason}.")


def _known(attributes: Mapping[str, Attribute], raw: Any, resource: str,
           ctx: RequestContext, create: bool) -> dict[str, Any]:
    """A copy of the object, its project filled in, every key an attribute."""
    if not isinstance(raw, dict):
        raise bad_request(f"Object '{resource}' contains invalid data")
    item = dict(raw)
    _project(item, ctx, create=create)
    unknown = sorted(set(item) - set(attributes))
    if unknown:
        raise bad_request(f"Unrecognized attribute(s) '{', '.join(unknown)}'")
    return item


def prepare_create(attributes: Mapping[str, Attribute], raw: Any, resource: str,
                   ctx: RequestContext) -> dict[str, Any]:
    """One create object: every attribute the create may set, its default filled in
    (``NOT_SPECIFIED`` where the operation chooses), converted and validated."""
    item = _known(attributes, raw, resource, ctx, create=True)
    for name, attribute in attributes.items():
        if not attribute.post:
            if name in item:
                raise bad_request(f"Attribute '{name}' not allowed in POST")
            continue
        if name not in item:
            if attribute.default is REQUIRED:
                raise bad_request(f"Failed to parse request. Required attribute '{name}' "
                                  "not specified")
            item[name] = attribute.default
    _convert(attributes, item)
    return item


def prepare_update(attributes: Mapping[str, Attribute], body: Any, resource: str,
                   ctx: RequestContext) -> dict[str, Any]:
    """An update object: only what it sets, each attribute one an update may set."""
    item = _known(attributes, item_of(body, resource), resource, ctx, create=False)
    for name in item:
        if not attributes[name].put:
            raise bad_request(f"Cannot update read-only attribute {name}")
    _convert(attributes, item)
    return item


def allowed(rule: Rule, ctx: RequestContext, network_owner: str | None = None) -> bool:
    """Whether ``ctx`` passes an attribute rule (``network_owner``: the project of the
    network the resource is on)."""
    if rule is Rule.ANYONE or ctx.is_admin:
        return True
    if rule is Rule.ADMIN_OR_NETWORK_OWNER:
        return network_owner is not None and network_owner == ctx.project_id
    return False


def authorize(attributes: Mapping[str, Attribute], item: Mapping[str, Any], action: str,
              resource: str, ctx: RequestContext, network_owner: str | None = None) -> None:
    """Neutron's attribute policies: an attribute a create sets to other than its default,
    or an update sets at all, needs its rule; a refusal names them all as oslo.policy
    does (``(rule:create_network and rule:create_network:shared)``)."""
    explicit = [
        name for name, attribute in attributes.items()
        if attribute.set_by is not Rule.ANYONE and name in item
        and item[name] is not NOT_SPECIFIED
        and (action == "update" or item[name] != attribute.default)
    ]
    if all(allowed(attributes[name].set_by, ctx, network_owner) for name in explicit):
        return
    rules = [f"rule:{action}_{resource}"] + [f"rule:{action}_{resource}:{name}"
                                             for name in explicit]
    raise not_authorized(f"({' and '.join(rules)})")


def given(item: Mapping[str, Any], name: str) -> bool:
    """Whether a create object sets ``name`` (not left to the operation)."""
    return item.get(name, NOT_SPECIFIED) is not NOT_SPECIFIED
