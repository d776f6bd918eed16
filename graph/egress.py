"""Outbound connections of the processes that run other people's SPARQL: only to allowed endpoints.

pyoxigraph follows ``SERVICE`` to any URL and offers no hook to refuse one, and a check of the
query's text can only be as right as its reading of the grammar. So the allow-list is enforced
where a connection is made: a process that runs such queries (a query worker) is *confined*: it
moves into its own network namespace, which has no interface but loopback, so no address outside
is reachable at all. Each allowed endpoint gets a listening socket on that private loopback (the
endpoint's own address for an IP literal; a private 127.x address for a host name, which a private
``/etc/hosts`` gives it); those sockets are handed to the process outside (the one that started
the worker), whose :class:`Relay` accepts on them and connects to that endpoint, and to nothing
else. A query that names any other address, however its text is written, finds nothing there.

For plain ``http`` endpoints the relay also checks the request line's path against the allowed
IRIs of that host and port; ``https`` is relayed as bytes (host and port are what is enforced).
"""

from __future__ import annotations

import ctypes
import ipaddress
import logging
import os
import selectors
import socket
import struct
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from fcntl import ioctl
from multiprocessing.connection import Connection
from multiprocessing.reduction import recv_handle, send_handle
from pathlib import Path
from urllib.parse import urlsplit

log = logging.getLogger("clusterkg.egress")

_CLONE_NEWNS = 0x00020000
_CLONE_NEWUSER = 0x10000000
_CLONE_NEWNET = 0x40000000
_MS_BIND = 0x1000
_MS_REC = 0x4000
_MS_PRIVATE = 1 << 18
_SIOCSIFFLAGS = 0x8914
_SIOCSIFADDR = 0x8916
_SIOCSIFNETMASK = 0x891C
_IFF_UP, _IFF_LOOPBACK, _IFF_RUNNING = 0x1, 0x8, 0x40
_HOST_NAMES_NET = ipaddress.IPv4Network("127.77.0.0/16")  # private addresses given to allowed host names
MAX_CONNECTIONS = 16  # relayed at once, per relay
CONNECT_TIMEOUT_S = 10.0
_REQUEST_LINE_LIMIT = 8192


class ConfinementUnavailable(RuntimeError):
    """The kernel refused the namespaces; the caller decides what to do without them."""


@dataclass(frozen=True)
class Target:
    """One allowed host and port: where the confined process connects (``inner``) and where the
    relay connects for it."""

    host: str
    port: int
    scheme: str
    inner: str
    paths: frozenset[str]

    @property
    def family(self) -> int:
        return socket.AF_INET6 if ":" in self.inner else socket.AF_INET


@dataclass(frozen=True)
class Plan:
    """The allowed endpoints, as the confined process and its relay need them."""

    targets: tuple[Target, ...]
    skipped: tuple[str, ...] = ()  # endpoints that cannot be reached from confinement (said in the log)

    @classmethod
    def for_endpoints(cls, endpoints: Iterable[str]) -> Plan:
        by_address: dict[tuple[str, int], dict] = {}
        skipped = []
        names = _HOST_NAMES_NET.hosts()
        for iri in sorted(set(endpoints)):
            parts = urlsplit(iri)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                skipped.append(iri)
                continue
            try:
                port = parts.port or (443 if parts.scheme == "https" else 80)
            except ValueError:
                skipped.append(iri)
                continue
            key = (parts.hostname.lower(), port)
            entry = by_address.setdefault(key, {"scheme": parts.scheme, "paths": set()})
            entry["paths"].add(parts.path or "/")
        targets = []
        inner_of_name: dict[str, str] = {}
        for (host, port), entry in sorted(by_address.items()):
            try:
                address = ipaddress.ip_address(host)
            except ValueError:
                address = None
            if address is None:
                inner = inner_of_name.get(host) or str(next(names))
                inner_of_name[host] = inner
            elif address.version == 6 and not address.is_loopback:
                skipped.append(f"{entry['scheme']}://[{host}]:{port}")  # an IPv6 alias needs netlink
                continue
            else:
                inner = str(address)
            targets.append(Target(host, port, entry["scheme"], inner, frozenset(entry["paths"])))
        return cls(tuple(targets), tuple(skipped))

    def hosts_file(self) -> str:
        lines = ["127.0.0.1 localhost", "::1 localhost"]
        seen = set()
        for target in self.targets:
            if target.inner != target.host and target.host not in seen:
                seen.add(target.host)
                lines.append(f"{target.inner} {target.host}")
        return "\n".join(lines) + "\n"


# -- inside: the confined process ----------------------------------------------------------------
def confine(plan: Plan) -> list[socket.socket]:
    """Move this process (it must have one thread) into new user, network and mount namespaces;
    return one listening socket per target, for the relay outside. Raises
    :class:`ConfinementUnavailable` if the kernel refuses the namespaces (nothing changed then).
    Once the namespaces are entered nothing outside is reachable, even if a later step fails."""
    libc = ctypes.CDLL(None, use_errno=True)
    uid, gid = os.getuid(), os.getgid()
    if libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNET | _CLONE_NEWNS) != 0:
        raise ConfinementUnavailable(os.strerror(ctypes.get_errno()))
    _map_ids(uid, gid)
    _bring_up_loopback()
    if any(t.inner != t.host for t in plan.targets):
        if libc.mount(None, b"/", None, _MS_REC | _MS_PRIVATE, None) != 0:
            raise OSError(ctypes.get_errno(), f"cannot make the mounts private: {os.strerror(ctypes.get_errno())}")
        _private_file(libc, "/etc/hosts", plan.hosts_file())
        _private_file(libc, "/etc/nsswitch.conf", "hosts: files\n")
    listeners = []
    for number, target in enumerate(plan.targets, start=1):
        address = ipaddress.ip_address(target.inner)
        if address.version == 4 and not address.is_loopback:
            _add_loopback_address(number, target.inner)
        listener = socket.socket(target.family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((target.inner, target.port))
        listener.listen(MAX_CONNECTIONS)
        listeners.append(listener)
    return listeners


def _map_ids(uid: int, gid: int) -> None:
    """Keep our own uid and gid inside (files the process creates belong to the same user)."""
    Path("/proc/self/setgroups").write_text("deny")
    Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
    Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")


def _bring_up_loopback() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        ioctl(sock, _SIOCSIFFLAGS, struct.pack("16sh22x", b"lo", _IFF_UP | _IFF_LOOPBACK | _IFF_RUNNING))


def _add_loopback_address(number: int, address: str) -> None:
    name = f"lo:{number}".encode()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        ioctl(sock, _SIOCSIFADDR, struct.pack("16sH2s4s8x", name, socket.AF_INET, b"\0\0", socket.inet_aton(address)))
        ioctl(sock, _SIOCSIFNETMASK, struct.pack("16sH2s4s8x", name, socket.AF_INET, b"\0\0",
                                                 socket.inet_aton("255.255.255.255")))


def _private_file(libc: ctypes.CDLL, target: str, text: str) -> None:
    """``target`` reads as ``text`` in this mount namespace only (a name lookup must not reach
    the network's resolver, or an address off the plan)."""
    if not os.path.exists(target):
        return
    with tempfile.NamedTemporaryFile("w", prefix="clusterkg-egress-", delete=False) as handle:
        handle.write(text)
    try:
        if libc.mount(handle.name.encode(), target.encode(), None, _MS_BIND, None) != 0:
            raise OSError(ctypes.get_errno(), f"cannot replace {target}: {os.strerror(ctypes.get_errno())}")
    finally:
        os.unlink(handle.name)


def hand_over(conn: Connection, plan: Plan) -> bool:
    """In a freshly started worker: :func:`confine` this process and send the listening sockets to
    the parent at the other end of ``conn`` (:func:`take_over`). Returns whether it is confined;
    if the kernel refused, the parent is told so, and the process keeps the network."""
    try:
        listeners = confine(plan)
    except ConfinementUnavailable as exc:
        conn.send(("unconfined", str(exc)))
        return False
    except OSError:  # the namespaces are entered: no network at all, not even to the allowed endpoints
        log.exception("the allowed SERVICE endpoints could not be set up inside the confinement")
        listeners = []
    conn.send(("confined", len(listeners)))
    for listener in listeners:
        send_handle(conn, listener.fileno(), os.getppid())
        listener.close()
    return True


def take_over(conn: Connection, plan: Plan, timeout: float = 60.0) -> tuple[bool, Relay | None]:
    """In the parent: the worker's first word (:func:`hand_over`); whether it is confined, and the
    relay of its listening sockets (None if it has none). Raises ``TimeoutError`` if the worker
    says nothing within ``timeout``."""
    if not conn.poll(timeout):
        raise TimeoutError("the worker did not start")
    status, detail = conn.recv()
    if status != "confined":
        log.warning("a worker keeps the network (%s): SERVICE is checked strictly by the query's text instead",
                    detail)
        return False, None
    listeners = [socket.socket(fileno=recv_handle(conn)) for _ in range(detail)]
    return True, (Relay(plan, listeners) if listeners else None)


# -- outside: the relay --------------------------------------------------------------------------
class Relay:
    """Accepts on a confined process's listening sockets (one per target, in the plan's order)
    and connects each connection to its target, in threads of the calling (outside) process."""

    def __init__(self, plan: Plan, listeners: list[socket.socket]) -> None:
        if len(listeners) != len(plan.targets):
            raise ValueError("one listening socket per target")
        self._targets = {listener.fileno(): (listener, target) for listener, target in zip(listeners, plan.targets,
                                                                                             strict=True)}
        self._selector = selectors.DefaultSelector()
        for listener, _target in self._targets.values():
            listener.setblocking(False)
            self._selector.register(listener, selectors.EVENT_READ)
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self._wake_read, self._wake_write = socket.socketpair()
        self._selector.register(self._wake_read, selectors.EVENT_READ)
        self._closed = False
        self._thread = threading.Thread(target=self._accept, name="clusterkg-egress", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._closed:
            for key, _ in self._selector.select():
                if key.fileobj is self._wake_read:
                    return
                listener, target = self._targets[key.fd]
                try:
                    inner, _ = listener.accept()
                except OSError:
                    continue
                if not self._slots.acquire(blocking=False):
                    inner.close()
                    continue
                threading.Thread(target=self._connect, args=(inner, target), daemon=True,
                                 name="clusterkg-egress-conn").start()

    def _connect(self, inner: socket.socket, target: Target) -> None:
        outer = None
        try:
            inner.setblocking(True)
            inner.settimeout(CONNECT_TIMEOUT_S)
            head = b""
            if target.scheme == "http":
                head = _request_head(inner)
                if not _path_allowed(head, target.paths):
                    log.warning("relay refused a request to %s:%s off the allowed paths: %.120r",
                                target.host, target.port, head.split(b"\r\n", 1)[0])
                    inner.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    return
            outer = socket.create_connection((target.host, target.port), timeout=CONNECT_TIMEOUT_S)
            inner.settimeout(None)
            outer.settimeout(None)
            if head:
                outer.sendall(head)
            pump = threading.Thread(target=_pump, args=(outer, inner), daemon=True)
            pump.start()
            _pump(inner, outer)
            pump.join()
        except OSError as exc:
            log.info("relay to %s:%s ended: %s", target.host, target.port, exc)
        finally:
            inner.close()
            if outer is not None:
                outer.close()
            self._slots.release()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._wake_write.send(b"x")
        self._thread.join(timeout=5)
        for listener, _target in self._targets.values():
            listener.close()
        self._selector.close()
        self._wake_read.close()
        self._wake_write.close()


def _request_head(conn: socket.socket) -> bytes:
    """The bytes up to and including the request line (or what came before the limit)."""
    data = b""
    while b"\r\n" not in data and len(data) < _REQUEST_LINE_LIMIT:
        chunk = conn.recv(_REQUEST_LINE_LIMIT - len(data))
        if not chunk:
            break
        data += chunk
    return data


def _path_allowed(head: bytes, paths: frozenset[str]) -> bool:
    line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = line.split(" ")
    if len(parts) != 3:
        return False
    target = parts[1]
    if "://" in target:  # absolute form
        target = urlsplit(target).path or "/"
    return target.split("?", 1)[0] in paths


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    except OSError:
        pass
    finally:
        for conn in (sink, source):
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
