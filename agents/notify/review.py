"""The review pages on the notifier's web server (docs/notify.md, "Review links"):

    GET  /review/<token>[?verdict=…]   the violation, with 确认 / 误报 (or 申诉) buttons
    POST /review/<token>               verdict=…[&note=…] → a Verdict on moderation.feedback

A GET never records anything: chat apps and mail scanners open links to preview them. A token
this secret did not sign, an expired one and one already used get a 403 page and record nothing.
The first POST of a link claims it in Redis (agents.stores.review, SET NX), then produces the
verdict (key: its group) and waits for the broker's acknowledgement; if that fails the claim is
released and the page asks to try again. Any later POST (a double click included) gets the 403
page, which says what the first one recorded; and since the feedback id is derived from the link,
even a verdict produced twice would be one feedback id. Any notifier process with the same secret
and Redis serves any link: the violation shown is the record the router kept in Redis.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import faust
import faust.web

from agents.notify.metrics import REVIEW_REQUESTS
from agents.runtime.retry import TRANSIENT
from streams.core.directory import LedgerView, RosterView
from streams.notify.config import NotifyConfig
from streams.review.links import APPEAL, APPEAL_NOTE, Grant, LinkRefused, LinkSigner, review_group
from streams.review.page import (
    VERDICT_LABELS,
    Shown,
    clean_note,
    local_time,
    recorded_page,
    refused_page,
    review_page,
)
from topics.codec import DecodeError, decode_violation
from topics.feedback import Verdict
from topics.violation import Violation

log = logging.getLogger(__name__)
Produce = Callable[[bytes, bytes], Awaitable[Any]]  # key, value → once the broker has it

HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",  # the token is in the URL
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}


class ReviewState(Protocol):
    """agents.stores.review.ReviewStore: kept violations and used links."""

    async def violation(self, violation_id: str) -> bytes | None: ...

    async def claim(self, link_id: str, verdict: str, at: str, expires: int) -> dict[str, str] | None: ...

    async def used(self, link_id: str) -> dict[str, str] | None: ...

    async def release(self, link_id: str) -> None: ...


class Reference(RosterView, LedgerView, Protocol):
    async def refresh_if_stale(self) -> Any: ...


@dataclass(frozen=True, slots=True)
class Answer:
    outcome: str  # the label of qunguard_notify_review_requests_total
    status: int
    page: str


def refusal(reason: str, **details: str) -> Answer:
    return Answer(reason, *refused_page(reason, **details))


class ReviewDesk:
    """What the review pages do, apart from HTTP: `show` (GET) and `record` (POST)."""

    def __init__(
        self,
        signer: LinkSigner,
        config: NotifyConfig,
        state: ReviewState,
        reference: Reference,
        produce: Produce,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.signer = signer
        self.config = config
        self.state = state
        self.reference = reference
        self.produce = produce
        self.clock = clock

    async def show(self, token: str, chosen: str) -> Answer:
        found = await self._open(token)
        if isinstance(found, Answer):
            return found
        grant, violation = found
        used = await self.state.used(grant.link_id)
        if used is not None:
            return self._used(used)
        expires = local_time(grant.expires, self.config.review.zone)
        return Answer(
            "shown", 200, review_page(self._shown(violation), grant, self._reviewer(grant), chosen, expires)
        )

    async def record(self, token: str, verdict: str, note: str) -> Answer:
        found = await self._open(token)
        if isinstance(found, Answer):
            return found
        grant, violation = found
        if verdict not in grant.verdicts:
            return refusal("bad_request")
        now = datetime.fromtimestamp(self.clock(), UTC)
        at = local_time(now.timestamp(), self.config.review.zone)
        earlier = await self.state.claim(grant.link_id, verdict, at, grant.expires)
        if earlier is not None:  # a second click included: the first one records the verdict
            return self._used(earlier)
        record = Verdict(
            feedback_id=grant.feedback_id,
            ts=now,
            violation_id=grant.violation_id,
            group_id=review_group(violation) or "",
            verdict=verdict,
            reviewer_id=grant.reviewer_id,
            note=APPEAL_NOTE if grant.scope == APPEAL else clean_note(note),
        )
        try:
            await self.produce(record.key.encode("utf-8"), record.to_bytes())
        except Exception:
            log.exception("could not produce verdict %s; link released", record.feedback_id)
            await self.state.release(grant.link_id)
            return refusal("unavailable")
        log.info(
            "review link: %s %s by %s (%s)", verdict, grant.violation_id, grant.reviewer_id, grant.role,
            extra={"violation_id": grant.violation_id, "feedback_id": record.feedback_id},
        )  # fmt: skip
        return Answer("recorded", 200, self._recorded(violation, grant, verdict))

    async def _open(self, token: str) -> tuple[Grant, Violation] | Answer:
        """The grant and the violation it is about, or why not."""
        try:
            grant = self.signer.verify(token, self.clock())
        except LinkRefused as refused:
            if refused.grant is None:
                return refusal("forged")
            when = local_time(refused.grant.expires, self.config.review.zone)
            return refusal("expired", when=when, hours=f"{self.config.review.link_hours:g}")
        try:
            violation = decode_violation(await self.state.violation(grant.violation_id))
        except DecodeError:  # none kept (expired, or Redis lost it)
            return refusal("missing")
        await self.reference.refresh_if_stale()
        return grant, violation

    def _used(self, earlier: dict[str, str]) -> Answer:
        verdict = earlier.get("verdict", "")
        return refusal("used", when=earlier.get("at", ""), verdict=VERDICT_LABELS.get(verdict, verdict))

    def _recorded(self, violation: Violation, grant: Grant, verdict: str) -> str:
        return recorded_page(self._shown(violation), grant, verdict, grant.feedback_id)

    def _shown(self, violation: Violation) -> Shown:
        return Shown.of(violation, self.config, self.reference, self.reference)

    def _reviewer(self, grant: Grant) -> str:
        role = self.config.roles.get(grant.role)
        label = role.label if role else grant.role
        if role is not None and not role.person:
            return label
        employee = self.reference.employee(grant.reviewer_id)
        return f"{employee.name if employee else grant.reviewer_id}({label})"


def register_review_pages(app: faust.App, desk: ReviewDesk) -> None:
    """Serve /review/<token> on the app's web server."""

    @app.page("/review/{token}")
    class Review(faust.web.View):
        async def get(self, request: faust.web.Request, token: str) -> faust.web.Response:
            return await self._answer("GET", lambda: desk.show(token, request.query.get("verdict", "")))

        async def post(self, request: faust.web.Request, token: str) -> faust.web.Response:
            form = await request.post()
            verdict, note = str(form.get("verdict") or ""), str(form.get("note") or "")
            return await self._answer("POST", lambda: desk.record(token, verdict, note))

        async def _answer(self, method: str, answer: Callable[[], Awaitable[Answer]]) -> faust.web.Response:
            try:
                found = await answer()
            except TRANSIENT as exc:  # Redis away: say so rather than a bare 500
                log.warning("review page: redis unavailable (%s)", exc)
                found = refusal("unavailable")
            REVIEW_REQUESTS.labels(method, found.outcome).inc()
            return self.html(found.page, status=found.status, headers=dict(HEADERS))
