"""Run queries on pyoxigraph, with no text check at all, in a process confined by graph.egress.

Usage: python egress_probe.py QUERIES.json ALLOWED-ENDPOINT...; prints one JSON line per query
({"query", "outcome"}). The process forks: the child confines itself and hands its listening
sockets to the parent, which relays them (as a query worker and the service do).
"""

from __future__ import annotations

import json
import os
import socket
import sys

from graph import egress


def main() -> None:
    queries = json.loads(open(sys.argv[1], encoding="utf-8").read())
    plan = egress.Plan.for_endpoints(sys.argv[2:])
    parent_end, child_end = socket.socketpair()
    pid = os.fork()
    if pid == 0:
        parent_end.close()
        listeners = egress.confine(plan)
        socket.send_fds(child_end, [b"%d" % len(listeners)], [s.fileno() for s in listeners])
        import pyoxigraph as ox

        store = ox.Store()
        for query in queries:
            try:
                outcome = str(list(store.query(query)))
            except Exception as exc:  # the outcome is what the test reads
                outcome = f"{type(exc).__name__}: {exc}"
            print(json.dumps({"query": query, "outcome": outcome}), flush=True)
        os._exit(0)
    child_end.close()
    _msg, fds, _flags, _addr = socket.recv_fds(parent_end, 16, 64)
    relay = egress.Relay(plan, [socket.socket(fileno=fd) for fd in fds]) if fds else None
    _, status = os.waitpid(pid, 0)
    if relay is not None:
        relay.close()
    sys.exit(os.waitstatus_to_exitcode(status))


if __name__ == "__main__":
    main()
