"""Walls between students: each server on a network of the course's own, with rules on the host around it.

In: the networks a launch manifest names (``walls``: network name -> egress policy) and the flows a workshop
allows inside its one network. Out: on each engine, those Docker networks (inter-container traffic off) and a
keeper container that holds the course's iptables rules (``rules`` says which, ``warden`` how they get there).
Backends call ``local_walls``/``swarm_walls`` and ``prune_*`` through the seam (``servers.backends``); a workshop's
end calls ``take_down``. Nothing here knows students.
"""

from .build import forget_other_backend, local_walls, prune_local, prune_swarm, swarm_walls
from .networks import network_name, swarm_name
from .rules import Network, Pass
from .warden import take_down

__all__ = ["Network", "Pass", "forget_other_backend", "local_walls", "network_name", "prune_local", "prune_swarm",
           "swarm_name", "swarm_walls", "take_down"]
