"""Every table of the service, in one metadata: lists, access (keys, audit), notices and rate budgets."""

from db.base import MAX_BIG_ID, MAX_ID, text_problem
from db.models.access import ApiKey, AuditRecord, ConsoleSession
from db.models.budgets import RateBudget
from db.models.guard import STANDINGS, ProbeWatch, Standing
from db.models.lists import (
    ROLES,
    Entry,
    HashList,
    ListVersion,
    Organisation,
    Publication,
    VideoFrames,
    VideoMatch,
)
from db.models.notices import (
    ACTIVE,
    STATUSES,
    UNSEEN_BY_HOSTER,
    Notice,
    NoticeEvent,
    NoticeMatch,
    Webhook,
    WebhookDelivery,
)

__all__ = [
    "ACTIVE",
    "MAX_BIG_ID",
    "MAX_ID",
    "ROLES",
    "STANDINGS",
    "STATUSES",
    "UNSEEN_BY_HOSTER",
    "ApiKey",
    "AuditRecord",
    "ConsoleSession",
    "Entry",
    "HashList",
    "ListVersion",
    "Notice",
    "NoticeEvent",
    "NoticeMatch",
    "Organisation",
    "ProbeWatch",
    "Publication",
    "RateBudget",
    "Standing",
    "VideoFrames",
    "VideoMatch",
    "Webhook",
    "WebhookDelivery",
    "text_problem",
]
