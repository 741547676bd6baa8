"""What a review link in a notifier message grants, signed so that only the notifier can make one
(docs/notify.md, "Review links").

A link grants one reviewer (a recipient of the message) one verdict on one violation until it
expires, `[review] link_hours` after the violation's `detected_at` (so a message rendered twice
carries the same links). The URL is `<base>/review/<token>`, the token `<payload>.<signature>`:
payload the base64url JSON array [violation_id, reviewer_id, role, scope, expires], signature the
base64url HMAC-SHA256 of "qg-review/1.<payload>" under the notifier's secret
(QUNGUARD_REVIEW_SECRET). Scope "review" offers 确认 and 误报; "appeal" is the subject's 申诉, a
false_positive verdict by the subject with note "appeal". `?verdict=…` on a link only preselects
a button on the page: the signed grant is what a verdict is checked against.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass

import orjson

from streams.notify.config import ReviewPolicy
from streams.notify.model import Recipient
from streams.notify.recipients import violation_groups
from topics.feedback import CONFIRMED, FALSE_POSITIVE
from topics.timeutil import parse_ts
from topics.violation import Violation

REVIEW, APPEAL = "review", "appeal"
APPEAL_NOTE = "appeal"  # the note of the verdict an appeal records
MIN_SECRET_BYTES = 16
_DOMAIN = b"qg-review/1."  # a new link format gets a new domain, so old signatures never match it


class LinkRefused(Exception):
    """A token that grants nothing: `reason` "forged" (not made with this secret, or not a token at
    all) or "expired" (then `grant` is the genuine, expired grant)."""

    def __init__(self, reason: str, grant: Grant | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.grant = grant


@dataclass(frozen=True, slots=True)
class Grant:
    violation_id: str
    reviewer_id: str  # the recipient's employee id, else its key (an account, or a fixed role: hr)
    role: str  # the recipient's role (owner, admin, subject, hr …)
    scope: str  # REVIEW or APPEAL
    expires: int  # Unix seconds

    @property
    def verdicts(self) -> tuple[str, ...]:
        return (CONFIRMED, FALSE_POSITIVE) if self.scope == REVIEW else (FALSE_POSITIVE,)

    @property
    def link_id(self) -> str:
        """The same for every link of one reviewer, role and violation (the 确认 and 误报 links
        included): what "already used" is kept under, whichever verdict was given."""
        material = "\x1f".join((self.violation_id, self.reviewer_id, self.role, self.scope))
        return hashlib.blake2b(material.encode("utf-8"), digest_size=12).hexdigest()

    @property
    def feedback_id(self) -> str:
        """Derived from the link, so a double click or a repeated POST is one feedback id."""
        return f"f-{self.link_id}"


class LinkSigner:
    def __init__(self, secret: str | bytes) -> None:
        key = secret.encode("utf-8") if isinstance(secret, str) else secret
        if len(key) < MIN_SECRET_BYTES:
            raise ValueError(f"the review link secret needs at least {MIN_SECRET_BYTES} bytes")
        self._key = key

    def token(self, grant: Grant) -> str:
        fields = [grant.violation_id, grant.reviewer_id, grant.role, grant.scope, grant.expires]
        payload = _b64(orjson.dumps(fields))
        return f"{payload}.{_b64(self._sign(payload))}"

    def verify(self, token: str, now: float) -> Grant:
        """The grant `token` carries; LinkRefused unless this secret signed it and it has not expired."""
        payload, _, signature = token.partition(".")
        # Compared as text, not as decoded bytes: base64's last character carries unused bits, so
        # several spellings decode to one signature, and a tampered link must never be accepted.
        if not payload.isascii() or not signature.isascii():
            raise LinkRefused("forged")
        expected = _b64(self._sign(payload)).encode("ascii")
        if not payload or not hmac.compare_digest(signature.encode("ascii"), expected):
            raise LinkRefused("forged")
        try:
            violation_id, reviewer_id, role, scope, expires = orjson.loads(_unb64(payload))
        except (ValueError, TypeError):
            raise LinkRefused("forged") from None  # signed by us, so never: a changed format
        grant = Grant(str(violation_id), str(reviewer_id), str(role), str(scope), int(expires))
        if grant.scope not in (REVIEW, APPEAL):
            raise LinkRefused("forged")
        if now >= grant.expires:
            raise LinkRefused("expired", grant)
        return grant

    def _sign(self, payload: str) -> bytes:
        return hmac.new(self._key, _DOMAIN + payload.encode("ascii"), hashlib.sha256).digest()


@dataclass(frozen=True, slots=True)
class LinkSet:
    """The links one message carries; "" where its recipient gets none of that kind."""

    page: str
    confirmed: str = ""
    false_positive: str = ""
    appeal: str = ""

    def fields(self) -> dict[str, str]:
        """Template fields (config/notify.toml [templates]): $review_confirmed, $review_false_positive,
        $review_appeal and $review_page (the page itself: digest lines)."""
        return {
            "review_page": self.page,
            "review_confirmed": self.confirmed,
            "review_false_positive": self.false_positive,
            "review_appeal": self.appeal,
        }


class ReviewLinks:
    """The links of each message: `[review]` says which roles get 确认/误报 and which 申诉."""

    def __init__(self, signer: LinkSigner, base_url: str, policy: ReviewPolicy) -> None:
        self.signer = signer
        self.base_url = base_url.rstrip("/")
        self.policy = policy

    def grant(self, violation: Violation, recipient: Recipient) -> Grant | None:
        if recipient.role in self.policy.verdict_roles:
            scope = REVIEW
        elif recipient.role in self.policy.appeal_roles:
            scope = APPEAL
        else:
            return None
        expires = self.expires(violation)
        if expires is None or review_group(violation) is None:
            return None
        return Grant(violation.violation_id, reviewer_of(recipient), recipient.role, scope, expires)

    def expires(self, violation: Violation) -> int | None:
        """When the links about `violation` expire (Unix seconds): `link_hours` after its detection."""
        detected = _timestamp(violation.detected_at) or _timestamp(violation.event_ts)
        return None if detected is None else int(detected) + self.policy.link_seconds

    def links(self, violation: Violation, recipient: Recipient) -> LinkSet | None:
        grant = self.grant(violation, recipient)
        if grant is None:
            return None
        page = f"{self.base_url}/review/{self.signer.token(grant)}"
        if grant.scope == APPEAL:
            return LinkSet(page=page, appeal=page)
        return LinkSet(
            page=page,
            confirmed=f"{page}?verdict={CONFIRMED}",
            false_positive=f"{page}?verdict={FALSE_POSITIVE}",
        )


def reviewer_of(recipient: Recipient) -> str:
    return recipient.employee_id or recipient.key


def review_group(violation: Violation) -> str | None:
    """The group a verdict is keyed by: the violation's, else the first its evidence names
    (flood.broadcast); None when it names none (such a violation gets no links)."""
    groups = violation_groups(violation)
    return groups[0] if groups else None


def _timestamp(value: str) -> float | None:
    try:
        return parse_ts(value).timestamp()
    except ValueError:
        return None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(str(exc)) from None
