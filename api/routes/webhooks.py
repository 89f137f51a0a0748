"""Webhooks: hosters and hotlines register where notice events are POSTed (signed with HMAC-SHA256),
and read each webhook's delivery log (thin routes over ``notices.webhooks``)."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request

from accounts import Caller
from api.deps import allow, organisation_of, record, services
from api.openapi import error_responses
from api.schemas import Delivery, NewWebhook, WebhookBody, WebhookOut
from db.models import MAX_ID
from notices import webhooks

router = APIRouter(tags=["webhooks"])
Receiver = Annotated[Caller, Depends(allow(*webhooks.RECEIVERS))]
WebhookId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.post(
    "/v1/webhooks",
    status_code=201,
    response_model=NewWebhook,
    summary="Register a webhook for notice events; its signing secret is shown once, here",
    responses=error_responses(401, 403, 422, 429),
)
def register(request: Request, caller: Receiver, body: WebhookBody) -> dict[str, Any]:
    found = services(request)
    with found.sessions() as session:
        org = organisation_of(session, caller)
        new = webhooks.register_webhook(
            session, org, body.url, found.clock.now(), found.outbound, found.sealer
        )
        record(found, caller, "webhook.registered", {"webhook": new.webhook.id}, session)
        session.commit()
        return {**webhooks.webhook_view(new.webhook), "secret": new.secret}


@router.get(
    "/v1/webhooks",
    response_model=list[WebhookOut],
    summary="The caller's webhooks (never their secrets)",
    responses=error_responses(401, 403, 429),
)
def list_all(request: Request, caller: Receiver) -> list[dict[str, Any]]:
    found = services(request)
    with found.sessions() as session:
        org = organisation_of(session, caller)
        shown = [webhooks.webhook_view(hook) for hook in webhooks.list_webhooks(session, org)]
    record(found, caller, "webhooks.list", {"returned": len(shown)})
    return shown


@router.delete(
    "/v1/webhooks/{webhook_id}",
    response_model=WebhookOut,
    summary="Disable a webhook: nothing more is sent to it, pending deliveries are given up",
    responses=error_responses(401, 403, 404, 422, 429),
)
def disable(request: Request, caller: Receiver, webhook_id: WebhookId) -> dict[str, Any]:
    found = services(request)
    with found.sessions() as session:
        org = organisation_of(session, caller)
        hook = webhooks.disable_webhook(session, org, webhook_id, found.clock.now())
        record(found, caller, "webhook.disabled", {"webhook": hook.id}, session)
        session.commit()
        return webhooks.webhook_view(hook)


@router.get(
    "/v1/webhooks/{webhook_id}/deliveries",
    response_model=list[Delivery],
    summary="The webhook's latest deliveries, newest first, each with its attempt log",
    responses=error_responses(401, 403, 404, 422, 429),
)
def deliveries(request: Request, caller: Receiver, webhook_id: WebhookId) -> list[dict[str, Any]]:
    found = services(request)
    with found.sessions() as session:
        org = organisation_of(session, caller)
        shown = [webhooks.delivery_view(d) for d in webhooks.list_deliveries(session, org, webhook_id)]
    record(found, caller, "webhook.deliveries", {"webhook": webhook_id, "returned": len(shown)})
    return shown
