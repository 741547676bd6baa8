"""Review links (streams.review.links): signing, verification, expiry, tampering; which recipient
gets which links; the links in the rendered messages."""

from __future__ import annotations

import base64
from dataclasses import replace

import orjson
import pytest

from streams.notify.config import NotifyConfigError, ReviewPolicy, load_notify_config, parse_notify_config
from streams.notify.model import Recipient
from streams.notify.recipients import resolve_recipients
from streams.notify.render import digest_entry, render_digest, render_notice
from streams.review.links import APPEAL, REVIEW, Grant, LinkRefused, LinkSigner, ReviewLinks
from tests.support import SAMPLE_LEDGER as LEDGER
from tests.support import SAMPLE_ROSTER as ROSTER
from tests.support import sample_violation as violation
from topics.timeutil import parse_ts

CONFIG = load_notify_config()
SECRET = "test-secret-of-32-bytes-or-so-xx"
SIGNER = LinkSigner(SECRET)
LINKS = ReviewLinks(SIGNER, "https://review.example.com/qg/", CONFIG.review)
OWNER = Recipient("owner", "E0004", "吴婷(群主)", "E0004", name="吴婷")
SUBJECT = Recipient("subject", "E0006", "王磊(当事人)", "E0006", account="wx_wanglei", name="王磊")
HR = Recipient("hr", "hr", "人力资源部")
GRANT = Grant("v-1", "E0004", "owner", REVIEW, 2_000_000_000)


def token_of(url: str) -> str:
    return url.split("/review/", 1)[1].split("?", 1)[0]


# --- signing and verification


def test_a_token_verifies_to_its_grant_until_it_expires() -> None:
    token = SIGNER.token(GRANT)
    assert SIGNER.verify(token, now=GRANT.expires - 1) == GRANT
    with pytest.raises(LinkRefused) as refused:
        SIGNER.verify(token, now=GRANT.expires)
    assert refused.value.reason == "expired" and refused.value.grant == GRANT


def test_another_secret_does_not_verify() -> None:
    with pytest.raises(LinkRefused) as refused:
        LinkSigner("another-secret-of-enough-length").verify(SIGNER.token(GRANT), now=0)
    assert refused.value.reason == "forged" and refused.value.grant is None


@pytest.mark.parametrize(
    "field", ["violation_id", "reviewer_id", "role", "scope", "expires"], ids=lambda f: f"changed {f}"
)
def test_a_changed_field_is_forged(field: str) -> None:
    """Each signed field, changed in the payload while the signature stays: refused (a later
    expiry, another reviewer, the appeal scope turned into a review …)."""
    payload, signature = SIGNER.token(GRANT).split(".")
    values = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    index = ["violation_id", "reviewer_id", "role", "scope", "expires"].index(field)
    values[index] = values[index] + 3600 if field == "expires" else {"scope": APPEAL}.get(field, "x")
    forged = base64.urlsafe_b64encode(orjson.dumps(values)).rstrip(b"=").decode()
    with pytest.raises(LinkRefused) as refused:
        SIGNER.verify(f"{forged}.{signature}", now=0)
    assert refused.value.reason == "forged"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # one signature character
        lambda t: ("A" if t[0] != "A" else "B") + t[1:],  # one payload character
        lambda t: t.split(".")[0],  # no signature
        lambda t: t.split(".")[0] + ".",
        lambda t: "." + t.split(".")[1],  # no payload
        lambda t: t[: len(t) // 2],  # cut
        lambda t: t + "A",
        lambda t: t.replace(".", ".!"),  # not base64
        lambda t: "群" + t,  # not ASCII
        lambda t: "",
        lambda t: "not-a-token",
    ],
)
def test_a_tampered_token_is_forged(tamper) -> None:
    with pytest.raises(LinkRefused) as refused:
        SIGNER.verify(tamper(SIGNER.token(GRANT)), now=0)
    assert refused.value.reason == "forged"


@pytest.mark.parametrize("violation_id", [f"v-{n}" for n in range(8)])
def test_every_other_spelling_of_the_last_signature_character_is_forged(violation_id: str) -> None:
    # base64's last character has unused low bits: several spellings decode to the same bytes.
    token = SIGNER.token(replace(GRANT, violation_id=violation_id))
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for other in alphabet.replace(token[-1], ""):
        with pytest.raises(LinkRefused):
            SIGNER.verify(token[:-1] + other, now=0)


def test_another_grants_signature_does_not_fit() -> None:
    mine = SIGNER.token(GRANT).split(".")[0]
    theirs = SIGNER.token(replace(GRANT, reviewer_id="E0005")).split(".")[1]
    with pytest.raises(LinkRefused):
        SIGNER.verify(f"{mine}.{theirs}", now=0)


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        LinkSigner("short")


# --- the links of each recipient


def test_managers_get_confirm_and_false_positive_links_of_one_grant() -> None:
    links = LINKS.links(violation(), OWNER)
    assert links is not None and not links.appeal
    assert links.page.startswith("https://review.example.com/qg/review/")
    assert links.confirmed == links.page + "?verdict=confirmed"
    assert links.false_positive == links.page + "?verdict=false_positive"
    grant = SIGNER.verify(token_of(links.page), now=0)
    detected = parse_ts(violation().detected_at).timestamp()
    assert grant == Grant("v-1", "E0004", "owner", REVIEW, int(detected) + 72 * 3600)


def test_the_subject_gets_an_appeal_link_and_fixed_roles_sign_as_their_role() -> None:
    appeal = LINKS.links(violation(), SUBJECT)
    assert appeal is not None and appeal.appeal == appeal.page and not appeal.false_positive
    assert SIGNER.verify(token_of(appeal.page), now=0).scope == APPEAL
    assert SIGNER.verify(token_of(LINKS.links(violation(), HR).page), now=0).reviewer_id == "hr"
    no_subject = ReviewLinks(SIGNER, "http://x", ReviewPolicy(appeal_roles=()))
    assert no_subject.links(violation(), SUBJECT) is None


def test_links_are_deterministic_and_one_link_id_per_reviewer() -> None:
    first, again = LINKS.links(violation(), OWNER), LINKS.links(violation(), OWNER)
    assert first == again  # a message rendered twice carries the same links
    owner, admin = (
        LINKS.grant(violation(), OWNER),
        LINKS.grant(violation(), replace(OWNER, key="E0005", employee_id="E0005")),
    )
    assert owner and admin and owner.link_id != admin.link_id
    assert (
        owner.feedback_id == f"f-{owner.link_id}"
        and owner.feedback_id == LINKS.grant(violation(), OWNER).feedback_id
    )


def test_no_links_without_a_group_or_a_time() -> None:
    assert LINKS.links(violation("flood.broadcast", group_id=None, evidence={}), OWNER) is None
    broadcast = violation("flood.broadcast", group_id=None, evidence={"messages": [{"group_id": "g-rd"}]})
    assert LINKS.links(broadcast, OWNER) is not None
    assert LINKS.links(violation(detected_at="soon", event_ts="later"), OWNER) is None


# --- in messages


def test_messages_carry_the_links_and_leave_the_lines_out_without_them() -> None:
    v = violation()
    links = LINKS.links(v, OWNER)
    notice = render_notice(v, OWNER, CONFIG, ROSTER, LEDGER, links)
    assert f"确认违规:{links.confirmed}" in notice.text
    assert f"标记误报:{links.false_positive}" in notice.text
    assert f"[点击打开]({links.false_positive})" in notice.markdown and "确认违规:" in notice.markdown
    plain = render_notice(v, OWNER, CONFIG, ROSTER, LEDGER)
    assert "review" not in plain.text and "确认违规" not in plain.text and "标记误报" not in plain.markdown
    assert notice.text.startswith(plain.text + "\n")  # the links are added lines, nothing else changes


def test_the_subject_reads_an_appeal_link() -> None:
    v = violation("media.large_file", evidence={"size": 78643200, "max_bytes": 20971520})
    subject = resolve_recipients(v, CONFIG, ROSTER, LEDGER)[-1]
    links = LINKS.links(v, subject)
    text = render_notice(v, subject, CONFIG, ROSTER, LEDGER, links).text
    assert f"如有异议,请申诉:{links.appeal}" in text and "确认违规" not in text


def test_digest_items_carry_the_page_link_on_a_second_line() -> None:
    v = violation("flood.rate", violation_id="v-9", evidence={"count": 10})
    links = LINKS.links(v, OWNER)
    item = render_notice(v, OWNER, CONFIG, ROSTER, LEDGER, links).line
    first, second = item.split("\n")
    assert "刷屏" in first and second == f"  审核或申诉:{links.page}"
    assert "\n" not in render_notice(v, OWNER, CONFIG, ROSTER, LEDGER).line
    notices = [render_notice(v, OWNER, CONFIG, ROSTER, LEDGER, links)]
    assert links.page in render_digest(OWNER, [digest_entry(n) for n in notices], CONFIG).text


# --- [review] in notify.toml


def test_review_policy_from_the_file_and_its_errors() -> None:
    assert CONFIG.review == ReviewPolicy()
    import tomllib

    from streams.notify.config import DEFAULT_NOTIFY_CONFIG

    doc = tomllib.loads(DEFAULT_NOTIFY_CONFIG.read_text(encoding="utf-8"))
    for review, field in (
        ({"link_hours": 0}, "review.link_hours"),
        ({"verdict_roles": ["nobody"]}, "review.verdict_roles"),
        ({"appeal_roles": ["owner"]}, "review.appeal_roles"),
        ({"timezone": "Mars/Olympus"}, "review.timezone"),
    ):
        with pytest.raises(NotifyConfigError) as error:
            parse_notify_config({**doc, "review": review})
        assert error.value.field == field
    assert parse_notify_config({**doc, "review": {"link_hours": 0.5}}).review.link_seconds == 1800
