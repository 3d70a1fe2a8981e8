"""Emergency-response simulation (模拟仿真 / 态势推演): busy units, a day of calls, a storm.

A discrete-event simulation on SimPy over the city's road graph: the fleet of each station
(:mod:`~cim.simulation.fleet`), calls replayed or generated (:mod:`~cim.simulation.incidents`),
travel times from the Router per hour of the day and of the storm
(:mod:`~cim.simulation.travel`, :mod:`~cim.simulation.network`), dispatch policies
(:mod:`~cim.simulation.policies`), the discrete-event replication (:mod:`~cim.simulation.replication`), indicators with
confidence intervals (:mod:`~cim.simulation.kpis`) and studies over seeds and policies
(:mod:`~cim.simulation.study`).

>>> from cim.simulation import POLICIES
>>> list(POLICIES)
['nearest', 'priority', 'batch', 'moveup']
"""

from cim.simulation.errors import SimulationError
from cim.simulation.policies import POLICIES
from cim.simulation.study import SimulationResult, compare, simulate

__all__ = ["POLICIES", "SimulationError", "SimulationResult", "compare", "simulate"]
