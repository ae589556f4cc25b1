#!/usr/bin/env python3
"""dropproxy.py — a TCP relay that drops its connections, for the reliability harness.

    dropproxy.py LISTEN_PORT TARGET_PORT MIN_MS MAX_MS

Relays 127.0.0.1:LISTEN_PORT to 127.0.0.1:TARGET_PORT. Every MIN_MS..MAX_MS
milliseconds (random) it resets every open connection (SO_LINGER 0, so both ends see a
reset, as when a NAT or firewall forgets a flow), whatever is in flight. It prints
"ready" once listening and "drop N" after each round that reset at least one
connection (N: rounds so far), flushing stdout, so a test can count the faults.
Stops on SIGTERM.
"""
import asyncio
import random
import signal
import socket
import struct
import sys


class Proxy:
    def __init__(self, target_port):
        self.target_port = target_port
        self.conns = set()  # (client writer, server writer)
        self.drops = 0

    async def pipe(self, reader, writer):
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def handle(self, creader, cwriter):
        try:
            sreader, swriter = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            cwriter.close()
            return
        pair = (cwriter, swriter)
        self.conns.add(pair)
        try:
            await asyncio.gather(self.pipe(creader, swriter), self.pipe(sreader, cwriter))
        finally:
            self.conns.discard(pair)

    def reset_all(self):
        if not self.conns:
            return
        for pair in list(self.conns):
            for w in pair:
                sock = w.get_extra_info("socket")
                if sock is not None:
                    try:
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    except OSError:
                        pass
                w.transport.abort()
        self.conns.clear()
        self.drops += 1
        print(f"drop {self.drops}", flush=True)


async def main():
    listen, target, lo, hi = (int(x) for x in sys.argv[1:5])
    proxy = Proxy(target)
    server = await asyncio.start_server(proxy.handle, "127.0.0.1", listen)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    print("ready", flush=True)
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), random.randint(lo, hi) / 1000)
        except asyncio.TimeoutError:
            proxy.reset_all()
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
