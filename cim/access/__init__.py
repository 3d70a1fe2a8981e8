"""15-minute living circles (GB 50180-2018) on the walking network.

- :mod:`cim.access.services`: the everyday services by kind (clinic, school, market …) and
  where a city's layers hold them;
- :mod:`cim.access.network`: the city's walking graph and its router, built once;
- :mod:`cim.access.accessibility`: walking distance from every home to the nearest services
  of each kind, the circle requirements each home meets, and the shares per unit;
- :mod:`cim.access.gaps`: homes outside a circle, and where new services would close most gaps.
"""

from cim.access.accessibility import Access, accessibility
from cim.access.gaps import gaps, site_services
from cim.access.network import walking_router
from cim.access.services import SERVICE_KINDS, ServiceKind, service_points

__all__ = [
    "SERVICE_KINDS",
    "Access",
    "ServiceKind",
    "accessibility",
    "gaps",
    "service_points",
    "site_services",
    "walking_router",
]
