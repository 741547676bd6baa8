"""Liveness and readiness pages of the worker's web server (Faust web, QUNGUARD_WEB_PORT).

`/healthz` answers 200 while the event loop serves requests. `/readyz` answers 200 only when
every readiness check passes, 503 otherwise, with each check in the JSON body:

* assigned: the consumer is not rebalancing and holds at least one active partition. A worker
  with nothing assigned (more workers than partitions) is alive but not ready, by design;
* recovered: table recovery has completed after the last assignment (Faust pauses the agents
  until then);
* redis: a PING answers within the timeout;
* reference: the roster and ledger in Redis may be judged by (agents.stores.reference.refusal);
  if not, each refused dataset with its cause, and the records that need them are held.

`register_reference_watch` re-checks the reference data on a timer, so a flushed Redis shows on
/readyz, in the log and in `qunguard_reference_unavailable` even while no record arrives.

Usage (agents.worker.app): `register_health(app, readiness(app, redis_ping, reference))`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

import faust
import faust.web

from agents.runtime.retry import TRANSIENT

Check = dict[str, Any]  # {"ok": bool, ...details}
Readiness = Callable[[], Awaitable[dict[str, Check]]]
log = logging.getLogger(__name__)


class ReferenceHealth(Protocol):
    """agents.stores.cache.ReferenceCache as health sees it."""

    def refusals(self) -> Mapping[str, str]: ...

    async def refresh_if_stale(self) -> Any: ...


def assignment_check(app: faust.App) -> Check:
    if app.rebalancing:
        return {"ok": False, "reason": "rebalancing"}
    try:
        active = app.assignor.assigned_actives()
    except Exception as exc:  # before the first assignment Faust may not have an assignment yet
        return {"ok": False, "reason": f"no assignment yet ({type(exc).__name__})"}
    return {"ok": bool(active), "partitions": len(active), "rebalances": app.rebalancing_count}


def recovery_check(app: faust.App) -> Check:
    recovery = app.tables.recovery
    done = recovery.completed.is_set() and not recovery.in_recovery
    return {"ok": done, "in_recovery": bool(recovery.in_recovery)}


async def redis_check(ping: Callable[[], Awaitable[Any]], timeout: float = 2.0) -> Check:
    try:
        await asyncio.wait_for(ping(), timeout)
    except Exception as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__}
    return {"ok": True}


def reference_check(reference: ReferenceHealth) -> Check:
    refused = dict(reference.refusals())
    if not refused:
        return {"ok": True}
    return {"ok": False, "reason": "; ".join(refused.values()), "refused": refused}


def readiness(
    app: faust.App,
    redis_ping: Callable[[], Awaitable[Any]],
    reference: ReferenceHealth | None = None,
    timeout: float = 2.0,
) -> Readiness:
    """The readiness checks: assignment, table recovery, Redis and (given) the reference data."""

    async def ready() -> dict[str, Check]:
        checks = {
            "assigned": assignment_check(app),
            "recovered": recovery_check(app),
            "redis": await redis_check(redis_ping, timeout),
        }
        if reference is not None:
            checks["reference"] = reference_check(reference)
        return checks

    return ready


def register_reference_watch(app: faust.App, reference: ReferenceHealth, interval: float = 5.0) -> None:
    """Ask Redis about the reference data every `interval` seconds (QUNGUARD_REFERENCE_CHECK_INTERVAL,
    at least 0.5) besides the records' own checks (a Redis error here is left to the agents'
    retries and the redis check)."""

    @app.timer(max(interval, 0.5), name="qunguard.reference_watch")
    async def watch() -> None:
        try:
            await reference.refresh_if_stale()
        except TRANSIENT as exc:
            log.debug("reference watch: redis unavailable (%s)", exc)


def register_health(app: faust.App, ready: Readiness) -> None:
    """Add /healthz (alive) and /readyz (every check of `ready()` passes) to the app's web server."""

    @app.page("/healthz")
    async def healthz(web: faust.web.View, request: faust.web.Request) -> faust.web.Response:
        return web.json({"ok": True})

    @app.page("/readyz")
    async def readyz(web: faust.web.View, request: faust.web.Request) -> faust.web.Response:
        checks = await ready()
        ok = all(check.get("ok") for check in checks.values())
        return web.json({"ok": ok, "checks": checks}, status=200 if ok else 503)
