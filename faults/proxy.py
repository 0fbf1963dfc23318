"""A loopback TCP proxy that can refuse, reset, delay and blackhole live connections.

Put it between a process and PostgreSQL / Redis / Kafka (point the process at
``proxy.port``) and change ``mode`` while traffic flows:

- ``pass``: forward both ways;
- ``refuse``: new connections are reset at once (live ones keep working);
- ``reset``: every live connection is reset now (RST), and new ones too;
- ``delay``: every chunk waits ``delay_seconds`` before it is forwarded;
- ``blackhole``: connections stay open but nothing is forwarded either way
  (a half-open link: the peer vanished without a FIN), new ones are accepted
  and hang.
"""

from __future__ import annotations

import select
import socket
import struct
import threading
import time


class Proxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.mode = "pass"
        self.delay_seconds = 0.0
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._stopped = threading.Event()
        threading.Thread(target=self._accept, daemon=True, name=f"proxy-{self.port}").start()

    def set(self, mode: str, delay_seconds: float = 0.0) -> None:
        assert mode in {"pass", "refuse", "reset", "delay", "blackhole"}
        self.mode, self.delay_seconds = mode, delay_seconds
        if mode == "reset":
            with self._lock:
                pairs, self._pairs = self._pairs, []
            for pair in pairs:
                for sock in pair:
                    _reset(sock)

    def close(self) -> None:
        self._stopped.set()
        self._listener.close()
        self.set("reset")

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.mode in {"refuse", "reset"}:
                _reset(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _reset(client)
                continue
            with self._lock:
                self._pairs.append((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        peers = {client: upstream, upstream: client}
        try:
            while not self._stopped.is_set():
                if self.mode == "blackhole":
                    time.sleep(0.05)
                    continue
                readable, _, _ = select.select(list(peers), [], [], 0.2)
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    if self.mode == "delay":
                        time.sleep(self.delay_seconds)
                    if self.mode == "blackhole":
                        continue  # dropped on the floor
                    peers[sock].sendall(data)
        except OSError:
            return
        finally:
            for sock in peers:
                try:
                    sock.close()
                except OSError:
                    pass
            with self._lock:
                if (client, upstream) in self._pairs:
                    self._pairs.remove((client, upstream))


def _reset(sock: socket.socket) -> None:
    """Close with RST (SO_LINGER 0) instead of FIN."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    except OSError:
        pass
