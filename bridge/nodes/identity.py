"""A node's name and site, as given to `slabridge serve --node NAME --site SITE`."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field

DEFAULT_SITE = "default"


def _host_name() -> str:
    return socket.gethostname() or "localhost"


@dataclass(frozen=True, slots=True)
class Node:
    """This process among the nodes sharing one store: its unique name (the host name by
    default, so one node per machine needs no option) and the site it probes from."""

    name: str = field(default_factory=_host_name)
    site: str = DEFAULT_SITE
    #: where this node listens, shown to operators in /api/v1/nodes
    address: str = ""
    port: int = 0
    pid: int = field(default_factory=os.getpid)
