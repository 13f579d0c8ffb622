"""Named enumerations of the model's categorical codes and the trait tables the processes read.

The state arrays and the panels keep the integer codes (``hh.form`` is -1..3, ``hh.org_type``
0..2, ...); processes never compare those integers with literals. They ask a trait table what a
code does: ``FORM_TRAITS[Form.AGRITOURISM].tertiary_income`` or, vectorised,
``form_trait("tertiary_income")[codes]``.

Adding an integration form (see docs/architecture.md, "Adding an integration form"): one member
of :class:`Form`, one row of :data:`FORM_TRAITS`, one entry in every per-form list of
``model.params.FormParams`` and ``policy.form_shares``, and a scenario file.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from enum import IntEnum
from functools import cache


class OrgType(IntEnum):
    """``org_type`` codes (households: 0 when not a member; organisations: 1 or 2)."""

    NONE = 0
    COOPERATIVE = 1
    ENTERPRISE = 2


class Form(IntEnum):
    """``form`` codes: -1 when not a member; the organisation's integration form otherwise."""

    NONE = -1
    VERTICAL_CHAIN = 0
    TECHNOLOGY_DIFFUSION = 1
    AGRITOURISM = 2
    ECOMMERCE = 3


class Region(IntEnum):
    EAST = 0
    CENTRAL = 1
    WEST = 2


class Product(IntEnum):
    GRAIN = 0
    CASH_CROP = 1
    LIVESTOCK = 2
    HORTICULTURE = 3


def _names(enum) -> tuple[str, ...]:
    """Lower-case names of the real members (codes >= 0, ``NONE`` excluded), in code order."""
    return tuple(m.name.lower() for m in sorted(enum, key=int) if m.name != "NONE")


FORMS = _names(Form)
ORGANISATION_TYPES = _names(OrgType)
REGIONS = _names(Region)
PRODUCTS = _names(Product)
# Organisations only exist with a real type: the code of the first (cooperative).
ORG_TYPE_OFFSET = int(OrgType.COOPERATIVE)


@dataclass(frozen=True)
class FormTraits:
    """Which channels an integration form acts through, beyond the per-form magnitudes in
    ``params.forms`` (price_gain, yield_gain, business_income, skill_gain, ties_gain), which
    every form has (a zero entry switches a channel off)."""

    technology_push: bool  # the organisation pushes its members to adopt improved technology (learning)
    information: bool      # members gain market-information access (learning.form_information_gain)
    tertiary_income: bool  # members' business income counts as primary-tertiary integration (county index)
    collective_action: bool  # members run a village venture together: trust grows (linkage.tourism_trust_gain)


FORM_TRAITS: dict[Form, FormTraits] = {
    Form.VERTICAL_CHAIN: FormTraits(technology_push=False, information=False, tertiary_income=False, collective_action=False),
    Form.TECHNOLOGY_DIFFUSION: FormTraits(technology_push=True, information=False, tertiary_income=False, collective_action=False),
    Form.AGRITOURISM: FormTraits(technology_push=False, information=False, tertiary_income=True, collective_action=True),
    Form.ECOMMERCE: FormTraits(technology_push=False, information=True, tertiary_income=True, collective_action=False),
}


@dataclass(frozen=True)
class OrgTypeTraits:
    """What an organisation type does for its members."""

    collective_marketing: bool  # marketing premium on spot, input discount, surplus returned, risk fund
    contract_farming: bool      # contract price, reneging, side-selling, technology package
    technology_push: bool       # pushes its members to adopt improved technology (learning)
    can_fail: bool              # may fail each year (cooperative.failure_probability)


ORG_TYPE_TRAITS: dict[OrgType, OrgTypeTraits] = {
    OrgType.COOPERATIVE: OrgTypeTraits(collective_marketing=True, contract_farming=False, technology_push=False, can_fail=True),
    OrgType.ENTERPRISE: OrgTypeTraits(collective_marketing=False, contract_farming=True, technology_push=True, can_fail=False),
}


def _check_tables() -> None:
    real_forms = [f for f in sorted(Form, key=int) if f is not Form.NONE]
    if list(FORM_TRAITS) != real_forms or [int(f) for f in real_forms] != list(range(len(real_forms))):
        raise RuntimeError("FORM_TRAITS must have one row per Form member, codes 0, 1, 2, ... in order")
    real_types = [t for t in sorted(OrgType, key=int) if t is not OrgType.NONE]
    if list(ORG_TYPE_TRAITS) != real_types:
        raise RuntimeError("ORG_TYPE_TRAITS must have one row per OrgType member")


_check_tables()

_FORM_TRAIT_NAMES = frozenset(f.name for f in fields(FormTraits))
_ORG_TRAIT_NAMES = frozenset(f.name for f in fields(OrgTypeTraits))


@cache
def form_trait(name: str):
    """Boolean array per form code 0..len(FORMS)-1: index it with ``np.maximum(form, 0)`` and
    combine with participation (code -1, no form, then reads as the first form's row)."""
    import numpy as np  # here, not at the top: the command line reads parameters without numpy

    if name not in _FORM_TRAIT_NAMES:
        raise KeyError(f"unknown form trait {name!r}; traits are {sorted(_FORM_TRAIT_NAMES)}")
    out = np.array([getattr(FORM_TRAITS[k], name) for k in FORM_TRAITS], dtype=bool)
    out.flags.writeable = False
    return out


@cache
def org_type_trait(name: str):
    """Boolean array per org_type code 0..len(ORGANISATION_TYPES) (code 0, none, is False)."""
    import numpy as np

    if name not in _ORG_TRAIT_NAMES:
        raise KeyError(f"unknown organisation-type trait {name!r}; traits are {sorted(_ORG_TRAIT_NAMES)}")
    out = np.array([False] + [getattr(ORG_TYPE_TRAITS[k], name) for k in ORG_TYPE_TRAITS], dtype=bool)
    out.flags.writeable = False
    return out


def org_types_with(trait: str) -> list[OrgType]:
    return [t for t, row in ORG_TYPE_TRAITS.items() if getattr(row, trait)]
