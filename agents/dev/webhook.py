"""A webhook receiver on a free loopback port, in a thread of its own: what the notifier's webhook
sinks post to in `ops/bursts.py` (agents.dev.bursts) and the notifier's e2e test. A subclass
answers each request in `handle`."""

from __future__ import annotations

import asyncio
import threading

from aiohttp import web

from agents.dev.embedded import free_port


class LocalWebhook(threading.Thread):
    def __init__(self, route: str = "/hook") -> None:
        super().__init__(daemon=True)
        self.route = route
        self.port = free_port()
        self.ready = threading.Event()
        self.loop = asyncio.new_event_loop()

    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def run(self) -> None:
        asyncio.set_event_loop(self.loop)
        app = web.Application()
        app.router.add_post(self.route, self.handle)
        runner = web.AppRunner(app)
        self.loop.run_until_complete(runner.setup())
        self.loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", self.port).start())
        self.ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(runner.cleanup())

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.join(10)

    async def handle(self, request: web.Request) -> web.Response:
        raise NotImplementedError
