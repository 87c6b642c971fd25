"""Writing back to Salesforce: cases upserted by an external-id field, so the same push twice
makes one Case, and contacts' mailing addresses.
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_upsert.htm
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from hub.connector import CaseWrite, Connector, WriteResult
from hub.errors import VendorError
from hub.models import Address

if TYPE_CHECKING:
    from connectors.salesforce.config import SalesforceConfig

# Canonical case values Salesforce spells otherwise (its default picklists; orgs may differ).
_STATUS = {"new": "New", "open": "Working", "pending": "Working", "on_hold": "Escalated",
           "solved": "Closed", "closed": "Closed"}  # fmt: skip
_PRIORITY = {"urgent": "High", "high": "High", "normal": "Medium", "low": "Low"}


class SalesforceWrites(Connector):
    """The write side of the Salesforce connector."""

    config: SalesforceConfig

    async def create_case(self, case: CaseWrite, *, idempotency_key: str) -> WriteResult:
        """Upsert the case by ``case_external_id_field`` = ``idempotency_key``: the first push
        creates it (201), a repeated one updates the same Case (200/204)."""
        return await self.upsert_case(idempotency_key, case)

    async def upsert_case(self, key: str, case: CaseWrite) -> WriteResult:
        """``PATCH /sobjects/Case/{field}/{key}``; 300 (several cases hold the key) is an error
        that says so, and nothing was written."""
        field = self.config.case_external_id_field
        if not key or "/" in key:
            raise VendorError(
                "a case key must be non-empty and hold no '/'", connection=self.connection
            )
        path = f"{self.config.api_prefix}/sobjects/Case/{field}/{quote(key, safe='')}"
        try:
            response, body = await self.request_json(
                "PATCH", path, json=self._case_body(case), retry_safe=True
            )
        except VendorError as error:
            if error.status == 300:
                raise VendorError(
                    f"more than one Salesforce Case has {field} = the key given (300 Multiple "
                    "Choices): nothing was written; make the field unique",
                    connection=self.connection,
                    status=300,
                ) from None
            raise
        created = response.status_code == 201
        record_id = body.get("id") if isinstance(body, dict) else None
        if not isinstance(record_id, str):
            raise VendorError("the Case upsert answered without an id", connection=self.connection)
        return WriteResult(external_id=record_id, created=created,
                           record=body if isinstance(body, dict) else {})  # fmt: skip

    async def update_case(self, external_id: str, changes: CaseWrite) -> WriteResult:
        """``PATCH /sobjects/Case/{Id}`` with the fields given (204, no body)."""
        path = f"{self.config.api_prefix}/sobjects/Case/{_sf_id(external_id, self.connection)}"
        await self.request_json("PATCH", path, json=self._case_body(changes), retry_safe=True)
        return WriteResult(external_id=external_id, created=False)

    def _case_body(self, case: CaseWrite) -> dict[str, Any]:
        """The Case fields of ``case`` that are set; tags and the case's id elsewhere go to
        the configured custom fields (a multi-select picklist takes values joined by ';')."""
        body = _case_fields(case)
        if case.tags is not None:
            if any(";" in tag for tag in case.tags):
                raise VendorError("a Salesforce tag cannot hold ';' (it separates the values)",
                                  connection=self.connection)  # fmt: skip
            body[self.config.case_tags_field] = ";".join(case.tags)
        if case.external_id is not None:
            body[self.config.case_reference_field] = case.external_id
        return body

    async def update_customer_address(self, external_id: str, address: Address) -> WriteResult:
        """A Contact's mailing address (``PATCH /sobjects/Contact/{Id}``); a field left None is
        cleared, as the address is replaced as a whole."""
        path = f"{self.config.api_prefix}/sobjects/Contact/{_sf_id(external_id, self.connection)}"
        body = {"MailingStreet": address.street, "MailingCity": address.city,
                "MailingState": address.region, "MailingPostalCode": address.postal_code,
                "MailingCountry": address.country}  # fmt: skip
        await self.request_json("PATCH", path, json=body, retry_safe=True)
        return WriteResult(external_id=external_id, created=False)


def _sf_id(value: str, connection: str) -> str:
    if len(value) not in (15, 18) or not value.isalnum():
        raise VendorError("a Salesforce id has 15 or 18 letters and digits; the id given has not",
                          connection=connection)  # fmt: skip
    return value


def _case_fields(case: CaseWrite) -> dict[str, Any]:
    status = None if case.status is None else _STATUS.get(case.status, case.status)
    priority = None if case.priority is None else _PRIORITY.get(case.priority, case.priority)
    fields = {"Subject": case.subject, "Description": case.description, "Status": status,
              "Priority": priority, "SuppliedEmail": case.requester_email,
              "SuppliedName": case.requester_name}  # fmt: skip
    return {key: value for key, value in fields.items() if value is not None}
