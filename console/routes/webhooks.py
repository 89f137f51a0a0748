"""Webhook settings: the organisation's webhooks, adding one (its signing secret shown once), disabling
one, a test delivery and the delivery log, through ``notices.webhooks`` (as the API)."""

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from sqlalchemy.orm import Session

from console.web import PREFIX, REFUSALS, PageError, Visit, parse_int, posted, signed_in, url
from db.models import MAX_ID, Organisation
from notices import webhooks
from notices.errors import WebhookNotFound

router = APIRouter(prefix=PREFIX, include_in_schema=False)
Receiver = Annotated[Visit, Depends(signed_in(*webhooks.RECEIVERS))]
Posted = Annotated[Visit, Depends(posted(*webhooks.RECEIVERS))]
BACK = url("/webhooks")


def _page(visit: Visit, status: int = 200, secret: str = "", error: str = "", typed: str = "") -> Response:
    with visit.session() as (session, organisation):
        hooks = [
            {
                **webhooks.webhook_view(hook),
                "deliveries": [
                    webhooks.delivery_view(d)
                    for d in webhooks.list_deliveries(session, organisation, hook.id, 5)
                ],
            }
            for hook in webhooks.list_webhooks(session, organisation)
        ]
    return visit.render("webhooks.html", status, hooks=hooks, secret=secret, error=error, typed=typed)


@router.get("/webhooks")
def settings(visit: Receiver) -> Response:
    return _page(visit)


@router.post("/webhooks")
def add(visit: Posted) -> Response:
    """Answered with the page itself, not a redirect: the secret is shown here once and stored nowhere."""
    address = visit.field("url").strip()
    with visit.session() as (session, organisation):
        try:
            new = webhooks.register_webhook(
                session, organisation, address, visit.now(), visit.found.outbound, visit.found.sealer
            )
            visit.audit(session, "webhook.registered", {"webhook": new.webhook.id})
            session.commit()
        except REFUSALS as refused:
            return _page(visit, 422, error=str(refused), typed=address)
    return _page(visit, 201, secret=new.secret)


def _hook_id(text: str) -> int:
    return parse_int(text, "webhook", 0, 1, MAX_ID)


@router.post("/webhooks/{webhook_id}/disable")
def disable(visit: Posted, webhook_id: str) -> Response:
    number = _hook_id(webhook_id)

    def change(session: Session, organisation: Organisation) -> str:
        hook = webhooks.disable_webhook(session, organisation, number, visit.now())
        visit.audit(session, "webhook.disabled", {"webhook": hook.id})
        return f"Webhook {hook.url} disabled: nothing more is sent to it."

    return visit.act(BACK, change)


@router.post("/webhooks/{webhook_id}/test")
def test(visit: Posted, webhook_id: str) -> Response:
    number = _hook_id(webhook_id)

    def change(session: Session, organisation: Organisation) -> str:
        webhooks.queue_test_delivery(session, organisation, number, visit.now())
        visit.audit(session, "webhook.test", {"webhook": number})
        return "A test event is queued: it is sent with the next deliveries (see the log below)."

    return visit.act(BACK, change)


@router.get("/webhooks/{webhook_id}")
def deliveries(visit: Receiver, webhook_id: str) -> Response:
    number = _hook_id(webhook_id)
    with visit.session() as (session, organisation):
        try:
            shown = [
                webhooks.delivery_view(d) for d in webhooks.list_deliveries(session, organisation, number)
            ]
        except WebhookNotFound:
            raise PageError(404, f"You have no webhook {number}.") from None
    return visit.render("deliveries.html", webhook_id=number, deliveries=shown)
