"""HTTP connections pinned to one worker process of a multi-worker ``vigil collect``.

uvicorn's workers share one listening socket and the kernel decides which one accepts a
connection. A test that must send one request to one worker and the next to another opens
connections until it has one accepted by each, and finds who accepted each from ``/proc``: the
server side of the connection is a socket (``/proc/net/tcp``: local port = the collector's,
remote port = the client's) whose inode is an open file of exactly one worker
(``/proc/<pid>/fd``). Linux only, as the test machines are.
"""

from __future__ import annotations

import http.client
import os
import time
from pathlib import Path

PROC = Path("/proc")


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (uvicorn's workers are children of ``vigil collect``)."""
    parents: dict[int, int] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue  # gone meanwhile
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _server_socket_inode(server_port: int, client_port: int) -> int | None:
    """The inode of the server's end of the loopback connection from ``client_port``, once accepted."""
    for table in ("tcp", "tcp6"):
        for line in (PROC / "net" / table).read_text().splitlines()[1:]:
            fields = line.split()
            local, remote, inode = fields[1], fields[2], int(fields[9])
            if int(local.rsplit(":", 1)[1], 16) == server_port and int(remote.rsplit(":", 1)[1], 16) == client_port:
                return inode or None
    return None


def _owner(pids: set[int], inode: int) -> int | None:
    target = f"socket:[{inode}]"
    for pid in pids:
        try:
            fds = os.listdir(PROC / str(pid) / "fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(PROC / str(pid) / "fd" / fd) == target:
                    return pid
            except OSError:
                continue
    return None


def worker_of(connection: http.client.HTTPConnection, server_pid: int, timeout_s: float = 5.0) -> int | None:
    """The pid of the worker that accepted ``connection`` (connected already); None if none
    did within ``timeout_s`` (0: look once), or the server closed it."""
    client_port = connection.sock.getsockname()[1]
    deadline = time.monotonic() + timeout_s
    while True:
        inode = _server_socket_inode(connection.port, client_port)
        owner = _owner(descendants(server_pid), inode) if inode else None
        if owner is not None or time.monotonic() >= deadline:
            return owner
        time.sleep(0.02)  # not accepted yet


class PinnedConnections:
    """One keep-alive connection to each of ``workers`` worker processes of the server ``server_pid``."""

    def __init__(self, host: str, port: int, server_pid: int, workers: int = 2, tries: int = 400) -> None:
        self.host, self.port, self.server_pid = host, port, server_pid
        self.connections: dict[int, http.client.HTTPConnection] = {}
        for _ in range(tries):
            connection = self._connect()
            pid = worker_of(connection, server_pid)
            if pid is None or pid in self.connections:
                connection.close()
            else:
                self.connections[pid] = self._primed(connection)
            if len(self.connections) == workers:
                self.pids = sorted(self.connections)
                return
        raise AssertionError(f"{tries} connections reached only the workers {sorted(self.connections)}")

    def _connect(self) -> http.client.HTTPConnection:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        connection.connect()
        return connection

    @staticmethod
    def _primed(connection: http.client.HTTPConnection) -> http.client.HTTPConnection:
        """The connection after one request: the collector answers ``408`` on a new connection
        whose first request does not come within ``VIGIL_HEADER_TIMEOUT``, while a connection
        that served one waits for the next as long as the keep-alive timeout."""
        connection.request("GET", "/healthz")
        response = connection.getresponse()
        response.read()
        assert response.status == 200 and not response.will_close, response.status
        return connection

    def request(self, pid: int, method: str, path: str, body: bytes | None,
                headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        """Send on the connection to worker ``pid`` (reconnecting to that same worker if it was closed)."""
        connection = self.connections[pid]
        if connection.sock is None or worker_of(connection, self.server_pid, timeout_s=0) != pid:
            # closed by either side (the server's keep-alive timeout): find that worker again
            connection.close()
            connection = self.connections[pid] = self._reconnect(pid)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            # the keep-alive timeout closed it as the request went out: once more, on a new one
            connection.close()
            connection = self.connections[pid] = self._reconnect(pid)
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
        answer = response.read()
        if response.will_close:
            connection.close()
        return response.status, {name.lower(): value for name, value in response.getheaders()}, answer

    def _reconnect(self, pid: int, tries: int = 400) -> http.client.HTTPConnection:
        for _ in range(tries):
            connection = self._connect()
            if worker_of(connection, self.server_pid) == pid:
                return self._primed(connection)
            connection.close()
        raise AssertionError(f"{tries} connections did not reach worker {pid} again")

    def close(self) -> None:
        for connection in self.connections.values():
            connection.close()
