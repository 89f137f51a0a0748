"""Organisations and their API keys: keys issued once, stored only as digests, revocable."""

from accounts.errors import (
    AccountError,
    DuplicateName,
    InvalidKey,
    InvalidRole,
    UnknownKey,
    UnknownOrganisation,
)
from accounts.keys import (
    Caller,
    IssuedKey,
    authenticate,
    caller_of_key,
    issue_key,
    list_keys,
    revoke_key,
)
from accounts.organisations import MANAGERS, create_organisation, find_organisation, list_organisations

__all__ = [
    "MANAGERS",
    "AccountError",
    "Caller",
    "DuplicateName",
    "InvalidKey",
    "InvalidRole",
    "IssuedKey",
    "UnknownKey",
    "UnknownOrganisation",
    "authenticate",
    "caller_of_key",
    "create_organisation",
    "find_organisation",
    "issue_key",
    "list_keys",
    "list_organisations",
    "revoke_key",
]
