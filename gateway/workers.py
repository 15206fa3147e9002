"""Several worker processes that share the load: one SO_REUSEPORT listener per worker.

uvicorn's own multi-worker mode binds one socket in the parent and every worker
accepts from it. An event loop woken by a new connection accepts every
connection waiting, so clients that open their keep-alive connections together
(a load balancer's pool, a front end's HTTP client) all land on one worker and
stay there: measured with ``bench.workers``, a second worker served nothing
while the first was saturated. Here each worker binds its own listening socket
with SO_REUSEPORT and Linux spreads new connections across the sockets by a hash
of their addresses, so each worker gets its share.

The supervision is uvicorn's (``Multiprocess``: health pings, restarting a dead
worker, SIGHUP/SIGTTIN/SIGTTOU, graceful shutdown); only how a worker process
is made differs, and each of uvicorn's places that makes one is overridden to
make ours. Linux only: elsewhere SO_REUSEPORT binds without spreading load, so
``joinedup serve`` keeps uvicorn's shared socket there.
"""

from __future__ import annotations

import socket
import sys

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import multiprocess

BALANCES_CONNECTIONS = sys.platform == "linux" and hasattr(socket, "SO_REUSEPORT")


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A listening-ready TCP socket in the host's SO_REUSEPORT group for ``port``."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


class _OwnSocketServer(uvicorn.Server):
    """A worker's server: listens on a socket of its own instead of the parent's."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup([reuse_port_socket(self.config.host, self.config.port)])


class _Worker(multiprocess.Process):
    """uvicorn's worker process, running :class:`_OwnSocketServer` (pickled to the child)."""

    @property
    def server(self) -> uvicorn.Server:
        if self._server is None:
            self._server = _OwnSocketServer(config=self.config)
        return self._server


class ReusePortSupervisor(multiprocess.Multiprocess):
    """uvicorn's supervisor whose workers each listen on their own SO_REUSEPORT socket."""

    def __init__(self, config: uvicorn.Config) -> None:
        # Nothing is bound in the parent: a listening socket nobody accepts from would
        # take its share of the connections and leave them waiting.
        super().__init__(config, sockets=[])
        # Fail at once, in the parent, if the address cannot be bound (e.g. in use by
        # something outside the group) rather than in a loop of dying workers.
        reuse_port_socket(config.host, config.port).close()

    def _spawn(self) -> _Worker:
        worker = _Worker(self.config, self.sockets)
        worker.start()
        return worker

    def init_processes(self) -> None:
        self.processes = [self._spawn() for _ in range(self.processes_num)]

    def restart_all(self) -> None:
        """As uvicorn's: each replacement serves before the worker it replaces stops."""
        for index, old in enumerate(self.processes):
            if self.should_exit.is_set():
                return
            new = self._spawn()
            if not new.wait_until_ready(self.config.timeout_worker_healthcheck, self.should_exit):
                new.kill()
                new.join()
                return
            old.terminate()
            old.join()
            self.processes[index] = new

    def keep_subprocess_alive(self) -> None:
        """As uvicorn's: replace a worker that died, unless it never started serving."""
        if self.should_exit.is_set():
            return
        for index, worker in enumerate(self.processes):
            if worker.is_alive(timeout=self.config.timeout_worker_healthcheck):
                continue
            worker.kill()
            worker.join()
            if worker.exitcode == STARTUP_FAILURE:
                multiprocess.logger.error(
                    f"Child process [{worker.pid}] failed to start, stopping the parent process."
                )
                self.should_exit.set()
                return
            if self.should_exit.is_set():
                return
            multiprocess.logger.info(f"Child process [{worker.pid}] died")
            self.processes[index] = self._spawn()

    def handle_ttin(self) -> None:
        self.processes_num += 1
        self.processes.append(self._spawn())
