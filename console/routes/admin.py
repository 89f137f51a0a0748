"""The operator's pages: organisations and their API keys (create, issue a key shown once, revoke),
through ``accounts`` (as ``hashmatch orgs`` and ``hashmatch keys``)."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from sqlalchemy.orm import Session

from accounts import (
    MANAGERS,
    create_organisation,
    issue_key,
    list_keys,
    list_organisations,
    revoke_key,
)
from console.web import PREFIX, REFUSALS, Visit, parse_int, posted, signed_in, url
from db.models import MAX_ID, ROLES, Organisation

router = APIRouter(prefix=PREFIX, include_in_schema=False)
Manager = Annotated[Visit, Depends(signed_in(*MANAGERS))]
Posted = Annotated[Visit, Depends(posted(*MANAGERS))]
BACK = url("/organisations")


def _page(visit: Visit, status: int = 200, **shown: Any) -> Response:
    with visit.session() as (session, _):
        keys: dict[int, list[dict[str, Any]]] = {}
        for key, org in list_keys(session):
            keys.setdefault(org.id, []).append(
                {
                    "prefix": key.prefix,
                    "name": key.name,
                    "created_at": key.created_at.isoformat(),
                    "last_used_at": key.last_used_at.isoformat() if key.last_used_at else None,
                    "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
                }
            )
        organisations = [
            {"id": org.id, "name": org.name, "role": org.role, "keys": keys.get(org.id, [])}
            for org in list_organisations(session)
        ]
    return visit.render("organisations.html", status, organisations=organisations, roles=ROLES, **shown)


@router.get("/organisations")
def organisations(visit: Manager) -> Response:
    return _page(visit)


@router.post("/organisations")
def create(visit: Posted) -> Response:
    name, role = visit.field("name"), visit.field("role")

    def change(session: Session, _: Organisation) -> str:
        created = create_organisation(session, name, role, visit.now())
        visit.audit(session, "organisation.created", {"organisation": created.id, "role": role})
        return f"Organisation {created.name} ({created.role}) created: issue it a key below."

    return visit.act(BACK, change)


@router.post("/organisations/{organisation_id}/keys")
def issue(visit: Posted, organisation_id: str) -> Response:
    """Answered with the page itself: the new key is shown here once and stored only as a digest."""
    number = parse_int(organisation_id, "organisation", 0, 1, MAX_ID)
    with visit.session() as (session, _):
        owner = session.get(Organisation, number)
        if owner is None:
            return visit.done(BACK, f"no organisation {number}", ok=False)
        try:
            issued = issue_key(session, owner, visit.field("name").strip(), visit.now())
        except REFUSALS as refused:
            return visit.done(BACK, str(refused), ok=False)
        visit.audit(session, "key.issued", {"organisation": owner.id, "key": issued.key.prefix})
        session.commit()
        shown = {"organisation": owner.name, "secret": issued.secret}
    return _page(visit, 201, new_key=shown)


@router.post("/keys/{prefix}/revoke")
def revoke(visit: Posted, prefix: str) -> Response:
    def change(session: Session, _: Organisation) -> str:
        key = revoke_key(session, prefix, visit.now())
        visit.audit(session, "key.revoked", {"key": key.prefix})
        return f"Key {key.prefix} revoked: its sessions end at their next request."

    return visit.act(BACK, change)
