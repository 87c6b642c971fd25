"""The streams' sObjects, the fields each reads, and the incremental SOQL that reads them."""

from __future__ import annotations

from dataclasses import dataclass

_SYSTEM = ("Id", "IsDeleted", "CreatedDate", "SystemModstamp")


@dataclass(frozen=True)
class ObjectStream:
    sobject: str
    object_type: str
    description: str
    fields: tuple[str, ...]


# stream name (the sObject) -> what it reads. Field names from the standard object reference.
STREAMS: dict[str, ObjectStream] = {
    s.sobject: s
    for s in (
        ObjectStream("Account", "account", "Customer companies.",
                     ("Name", "Type", "Industry", "Phone", "Website", "BillingCity",
                      "BillingCountry")),
        ObjectStream("Contact", "contact", "People at accounts: the customers.",
                     ("AccountId", "FirstName", "LastName", "Name", "Email", "Phone",
                      "MobilePhone", "Title", "MailingStreet", "MailingCity", "MailingState",
                      "MailingPostalCode", "MailingCountry")),
        ObjectStream("Case", "case", "Support cases, deleted ones included.",
                     ("CaseNumber", "Subject", "Description", "Status", "Priority", "Origin",
                      "AccountId", "ContactId", "AssetId", "OwnerId", "IsClosed",
                      "ClosedDate", "Hub_Key__c")),
        ObjectStream("Entitlement", "entitlement", "Support entitlements of accounts.",
                     ("Name", "AccountId", "AssetId", "ServiceContractId", "StartDate",
                      "EndDate", "Status", "Type")),
        ObjectStream("ServiceContract", "service_contract", "Service contracts of accounts.",
                     ("Name", "AccountId", "ContactId", "StartDate", "EndDate", "Status")),
        ObjectStream("Asset", "asset", "Products customers own (units, serial numbers).",
                     ("Name", "AccountId", "ContactId", "Product2Id", "SerialNumber", "Status",
                      "PurchaseDate", "InstallDate", "UsageEndDate")),
        ObjectStream("Product2", "product", "The product catalogue.",
                     ("Name", "ProductCode", "Family", "IsActive")),
        ObjectStream("User", "user", "Users of the org: the agents.",
                     ("Name", "Email", "IsActive", "UserType", "Title")),
    )
}  # fmt: skip


def incremental_query(stream: ObjectStream, since: str, until: str | None) -> str:
    """Rows of ``[since, until)`` by SystemModstamp, oldest first (dateTime literals are
    unquoted in SOQL)."""
    where = f"SystemModstamp >= {since}"
    if until is not None:
        where += f" AND SystemModstamp < {until}"
    fields = ", ".join((*_SYSTEM, *stream.fields))
    # Only our own field names and rendered dateTimes go in: nothing a record or user wrote.
    return f"SELECT {fields} FROM {stream.sobject} WHERE {where} ORDER BY SystemModstamp, Id"  # noqa: S608
