"""The connections behind :class:`index.fetch.Fetcher`: checked addresses, one deadline, a stop.

:class:`GuardedBackend` is the network layer under httpx. For every new connection it resolves the
host (within the deadline), asks the :class:`~index.fetch_policy.AddressPolicy` about each address
and connects to an allowed one itself, so the address connected to is the address checked. Every
read, write and handshake on the connection is cut to what is left of the request's deadline and
done in short slices, so a server that sends its headers a byte at a time is stopped at the
deadline and a stop request (a signal) ends the wait within a fraction of a second.
"""

from __future__ import annotations

import contextlib
import ssl
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

import httpcore
import httpx

from index.fetch_policy import AddressPolicy, is_address

SLICE = 0.25  # seconds: how often a blocked read looks at the clock and the stop flag


class FetchStopped(Exception):
    """The fetch was asked to stop (newsbot is shutting down)."""


class _Budget(threading.local):
    deadline: float = float("inf")


class GuardedBackend(httpcore.NetworkBackend):
    def __init__(self, policy: AddressPolicy, stop: threading.Event | None = None) -> None:
        self.policy = policy
        self.stop = stop or threading.Event()
        self._budget = _Budget()
        self._plain = httpcore.SyncBackend()

    @contextlib.contextmanager
    def deadline(self, seconds: float) -> Iterator[None]:
        """Everything done on this thread inside the block ends ``seconds`` from now."""
        previous = self._budget.deadline
        self._budget.deadline = time.monotonic() + seconds
        try:
            yield
        finally:
            self._budget.deadline = previous

    def remaining(self, timeout: float | None = None) -> float:
        """Seconds left for one operation: the request's deadline, or ``timeout`` if sooner."""
        if self.stop.is_set():
            raise FetchStopped("stopped")
        left = self._budget.deadline - time.monotonic()
        if timeout is not None:
            left = min(left, timeout)
        if left <= 0:
            raise httpcore.ReadTimeout("the request's deadline passed")
        return left

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = self._resolve(host, port, self.remaining(timeout))
        failure: Exception | None = None
        for ip in addresses:
            try:
                stream = self._plain.connect_tcp(
                    ip, port, self.remaining(timeout), local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                failure = error
                continue
            return _DeadlineStream(stream, self)
        assert failure is not None
        raise failure

    def _resolve(self, host: str, port: int, seconds: float) -> list[str]:
        """The allowed addresses of ``host``; name resolution cannot hang past the deadline."""
        if is_address(host):
            return self.policy.addresses(host, port)  # nothing to look up
        outcome: list[Any] = []

        def run() -> None:
            try:
                outcome.append(self.policy.addresses(host, port))
            except Exception as error:
                outcome.append(error)

        worker = threading.Thread(target=run, name="newsbot-resolve", daemon=True)
        worker.start()
        ends = time.monotonic() + seconds
        while worker.is_alive() and time.monotonic() < ends:
            self.remaining()  # raises when stopped
            worker.join(min(SLICE, max(0.0, ends - time.monotonic())))
        if not outcome:
            raise httpcore.ConnectTimeout(f"looking up {host} took too long")
        result = outcome[0]
        if isinstance(result, OSError):
            raise httpcore.ConnectError(f"cannot resolve {host} ({result})")
        if isinstance(result, Exception):
            raise result
        return list(result)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("newsbot does not fetch over Unix sockets")

    def sleep(self, seconds: float) -> None:
        time.sleep(min(seconds, self.remaining()))


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every operation ends by the request's deadline or a stop."""

    def __init__(self, inner: httpcore.NetworkStream, backend: GuardedBackend) -> None:
        self.inner = inner
        self.backend = backend

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        ends = None if timeout is None else time.monotonic() + timeout
        while True:
            left = self.backend.remaining(None if ends is None else ends - time.monotonic())
            try:
                return self.inner.read(max_bytes, min(left, SLICE))
            except httpcore.ReadTimeout:
                continue  # one slice without data: look at the clock and the stop flag again

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.inner.write(buffer, self.backend.remaining(timeout))

    def close(self) -> None:
        self.inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        secure = self.inner.start_tls(ssl_context, server_hostname, self.backend.remaining(timeout))
        return _DeadlineStream(secure, self.backend)

    def get_extra_info(self, info: str) -> Any:
        return self.inner.get_extra_info(info)


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport over a :class:`GuardedBackend` (no proxies: they would bypass it)."""

    def __init__(self, backend: GuardedBackend) -> None:
        super().__init__()
        self._pool.close()
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=10,
            max_keepalive_connections=5,
            keepalive_expiry=5.0,
            network_backend=backend,
        )
