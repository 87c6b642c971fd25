"""The sandbox org's records: eight sObjects generated lazily from the seed, consistent with
each other (a contact's account exists, an entitlement points at an existing account, asset
and service contract), the people drawn from the sandboxes' shared world.

Each object is a :class:`SObjectTable`: a :class:`~hub.sandbox.GeneratedCollection` whose
integer ids are the record numbers inside Salesforce ids (:mod:`.ids`), plus the object's
field list, what may be written and which fields are external ids. Field names and key
prefixes follow the standard objects
(https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from connectors.salesforce.sandbox.ids import number_of, record_id
from hub.sandbox.collection import Clock, GeneratedCollection
from hub.sandbox.data import person, rng_for, spread_timestamp, world

Record = dict[str, Any]

VENDOR = "salesforce"
EPOCH = 1_704_067_200  # 2024-01-01: the generated records changed between this ...
GENERATED_UNTIL = 1_780_272_000  # ... and 2026-06-01; runtime changes come after
TODAY = date(2026, 6, 1)  # "today" for computed statuses, fixed so the data is too
# Fields every object has, written by the server only.
SYSTEM_FIELDS = ("Id", "IsDeleted", "CreatedDate", "LastModifiedDate", "SystemModstamp")

_CITIES = {"US": ("Austin", "Denver", "Boston"), "DE": ("Berlin", "Köln", "München"),
           "FR": ("Paris", "Lyon", "Nantes"), "GB": ("Leeds", "London", "Bristol")}  # fmt: skip
_PRODUCTS = ("Router X1", "Router X2", "Switch S8", "Access Point A3", "Firewall F5",
             "Modem M2", "Mesh Kit", "Repeater R1", "Gateway G4", "NAS N2")  # fmt: skip
_FAMILIES = ("Networking", "Security", "Storage")
_SUBJECTS = ("Cannot connect", "Firmware update failed", "Slow throughput",
             "Device reboots", "Billing question", "Replacement request")  # fmt: skip
_CASE_STATUSES = ("New", "Working", "Escalated", "Closed")
_PRIORITIES = ("High", "Medium", "Low")
_ORIGINS = ("Phone", "Email", "Web")
# Computed fields a client may not write (besides the system fields).
_READ_ONLY = {"Contact": {"Name"}, "Case": {"CaseNumber", "IsClosed"},
              "ServiceContract": {"Status"}, "Entitlement": {"Status"}}  # fmt: skip
_ASSET_STATUSES = ("Purchased", "Shipped", "Installed", "Registered", "Obsolete")


def sf_datetime(ts: float) -> str:
    """A dateTime as the REST API writes it: ``2026-01-15T10:30:00.000+0000``."""
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def _stamp(record: Record, ts: int) -> Record:
    return {**record, "LastModifiedDate": sf_datetime(ts), "SystemModstamp": sf_datetime(ts)}


@dataclass
class SObjectTable:
    """One sObject: its records, fields, writable fields and external-id fields."""

    name: str
    prefix: str
    fields: tuple[str, ...]
    writable: frozenset[str]
    records: GeneratedCollection
    external_ids: frozenset[str] = frozenset()
    required: tuple[str, ...] = ()
    _by_external: dict[tuple[str, str], set[int]] = field(default_factory=dict)

    def sf_id(self, number: int) -> str:
        return record_id(self.prefix, number)

    def number(self, sf_id: str) -> int | None:
        return number_of(self.prefix, sf_id)

    def get(self, sf_id: str, *, deleted: bool = False) -> Record | None:
        """The record with ``sf_id``; a deleted one only with ``deleted``."""
        number = self.number(sf_id)
        record = None if number is None else self.records.get(number)
        if record is None or (record["IsDeleted"] and not deleted):
            return None
        return record

    def matching(self, external_field: str, value: str) -> list[str]:
        """Live records whose ``external_field`` is ``value`` (runtime records only: the
        generated ones carry no external ids)."""
        numbers = sorted(self._by_external.get((external_field, value), ()))
        found = [self.sf_id(n) for n in numbers]
        return [sf_id for sf_id in found if self.get(sf_id) is not None]

    def save(self, record: Record) -> Record:
        """Store a changed or new record at the server clock's time."""
        number = self.number(record["Id"])
        assert number is not None
        saved = self.records.save({**record, "_number": number})
        for name in self.external_ids:
            value = saved.get(name)
            if isinstance(value, str) and value:
                self._by_external.setdefault((name, value), set()).add(number)
        return saved

    def create(self, values: Record) -> Record:
        now = sf_datetime(self.records.now())
        number = self.records.allocate_id()
        blank = {name: None for name in self.fields}
        return self.save({**blank, **values, "Id": self.sf_id(number), "IsDeleted": False,
                          "CreatedDate": now})  # fmt: skip


def public(record: Record) -> Record:
    """A stored record without the sandbox's own bookkeeping."""
    return {key: value for key, value in record.items() if not key.startswith("_")}


@dataclass(frozen=True)
class Counts:
    """How many records of each object a sandbox of ``records`` holds."""

    accounts: int
    contacts: int
    products: int
    assets: int
    cases: int
    users: int

    @classmethod
    def of(cls, records: int) -> Counts:
        records = max(records, 1)
        return cls(accounts=max(2, records // 8), contacts=records,
                   products=min(len(_PRODUCTS), max(3, records // 10 + 3)),
                   assets=max(1, records // 2), cases=records,
                   users=max(2, records // 25 + 2))  # fmt: skip


class SalesforceOrg:
    """Every sObject of one sandbox org, generated from ``seed``."""

    def __init__(self, *, records: int, seed: int, clock: Clock = time.time) -> None:
        self.seed = seed
        self.counts = counts = Counts.of(records)
        self.clock = clock
        # Records (object, number) written by transactions not committed yet: no query sees
        # them, though their SystemModstamp is already set.
        self.pending: set[tuple[str, int]] = set()
        build = self._table
        self.tables: dict[str, SObjectTable] = {
            "Account": build("Account", "001", counts.accounts, self._account,
                             ("Name", "Type", "Industry", "Phone", "Website", "BillingCity",
                              "BillingCountry"), required=("Name",)),
            "Contact": build("Contact", "003", counts.contacts, self._contact,
                             ("AccountId", "FirstName", "LastName", "Name", "Email", "Phone",
                              "MobilePhone", "Title", "MailingStreet", "MailingCity",
                              "MailingState", "MailingPostalCode", "MailingCountry"),
                             required=("LastName",)),
            "Product2": build("Product2", "01t", counts.products, self._product,
                              ("Name", "ProductCode", "Family", "IsActive", "Description"),
                              required=("Name",)),
            "Asset": build("Asset", "02i", counts.assets, self._asset,
                           ("Name", "AccountId", "ContactId", "Product2Id", "SerialNumber",
                            "Status", "PurchaseDate", "InstallDate", "UsageEndDate"),
                           required=("Name",)),
            "ServiceContract": build("ServiceContract", "810", counts.accounts, self._contract,
                                     ("Name", "AccountId", "ContactId", "StartDate", "EndDate",
                                      "Term", "Status"), required=("Name",)),
            "Entitlement": build("Entitlement", "550", counts.assets, self._entitlement,
                                 ("Name", "AccountId", "AssetId", "ServiceContractId",
                                  "StartDate", "EndDate", "Status", "Type"),
                                 required=("Name", "AccountId")),
            "Case": build("Case", "500", counts.cases, self._case,
                          ("CaseNumber", "Subject", "Description", "Status", "Priority",
                           "Origin", "Type", "AccountId", "ContactId", "AssetId",
                           "EntitlementId", "OwnerId", "IsClosed", "ClosedDate",
                           "SuppliedEmail", "SuppliedName", "Hub_Key__c", "Hub_Tags__c",
                           "Hub_Reference__c"),
                          external_ids=frozenset({"Hub_Key__c"})),
            "User": build("User", "005", counts.users, self._user,
                          ("Username", "Name", "FirstName", "LastName", "Email", "Title",
                           "IsActive", "UserType"), required=("Username", "LastName")),
        }  # fmt: skip
        for table in self.tables.values():
            fixed = set(SYSTEM_FIELDS) | _READ_ONLY.get(table.name, set())
            table.writable = frozenset(set(table.fields) - fixed)

    def _table(
        self,
        name: str,
        prefix: str,
        count: int,
        generate: Callable[[int], Record],
        fields: tuple[str, ...],
        *,
        required: tuple[str, ...] = (),
        external_ids: frozenset[str] = frozenset(),
    ) -> SObjectTable:
        def ts_of(index: int) -> int:
            return spread_timestamp(self.seed, f"sf-{name}", index, count, start=EPOCH,
                                    end=GENERATED_UNTIL)  # fmt: skip

        def full(index: int) -> Record:
            created = sf_datetime(ts_of(index) - 86_400 * (1 + index % 30))
            record = {"Id": record_id(prefix, index + 1), "IsDeleted": False,
                      "CreatedDate": created, **generate(index), "_number": index + 1}  # fmt: skip
            return _stamp(record, ts_of(index))

        collection = GeneratedCollection(
            count=count,
            generate=full,
            id_of=lambda index: index + 1,
            index_of=lambda number: number - 1 if 1 <= number <= count else None,
            ts_of=ts_of,
            next_id=count + 1,
            clock=self.clock,
            stamp=_stamp,
            id_key="_number",
        )
        all_fields = (*SYSTEM_FIELDS, *fields)
        return SObjectTable(name, prefix, all_fields, frozenset(), collection,
                            external_ids=external_ids, required=required)  # fmt: skip

    # -- references between objects -------------------------------------------------------

    def ref(self, sobject: str, index: int) -> str:
        return record_id(self.tables[sobject].prefix, index + 1)

    def account_of_contact(self, index: int) -> int:
        """A contact works at their real employer's account when the org has it."""
        truth = world(self.seed).truth(VENDOR, index)
        company = world(self.seed).individual(truth).company_id
        base = company if company is not None else index * 7
        return base % self.counts.accounts

    def contact_of_asset(self, index: int) -> int:
        return (index * 2) % self.counts.contacts

    def _date(self, kind: str, index: int, low_days: int, high_days: int) -> date:
        days = rng_for(self.seed, f"sf-{kind}", index).randrange(low_days, high_days)
        return TODAY + timedelta(days=days)

    # -- generators -----------------------------------------------------------------------

    def _account(self, index: int) -> Record:
        company = world(self.seed).company(index)
        rng = rng_for(self.seed, "sf-account", index)
        return {"Name": company.name, "Type": "Customer - Direct",
                "Industry": rng.choice(("Technology", "Retail", "Manufacturing", "Finance")),
                "Phone": None, "Website": f"https://www.{company.domain}",
                "BillingCity": None, "BillingCountry": company.locale[-2:].upper()}  # fmt: skip

    def _contact(self, index: int) -> Record:
        who = person(self.seed, index, VENDOR)
        rng = rng_for(self.seed, "sf-contact", index)
        country = who.locale[-2:].upper()
        city = rng.choice(_CITIES.get(country, ("Springfield", "Riverside")))
        return {"AccountId": self.ref("Account", self.account_of_contact(index)),
                "FirstName": who.given_name, "LastName": who.family_name,
                "Name": who.display_name, "Email": who.email, "Phone": who.phone,
                "MobilePhone": None, "Title": rng.choice(("IT Manager", "Owner", None)),
                "MailingStreet": f"{rng.randrange(1, 200)} Main Street", "MailingCity": city,
                "MailingState": None, "MailingPostalCode": f"{rng.randrange(10000, 99999)}",
                "MailingCountry": country}  # fmt: skip

    def _product(self, index: int) -> Record:
        return {"Name": _PRODUCTS[index], "ProductCode": f"P-{index + 100}",
                "Family": _FAMILIES[index % len(_FAMILIES)], "IsActive": index % 7 != 6,
                "Description": None}  # fmt: skip

    def _asset(self, index: int) -> Record:
        rng = rng_for(self.seed, "sf-asset", index)
        contact = self.contact_of_asset(index)
        product = rng.randrange(self.counts.products)
        purchased = self._date("asset-purchase", index, -900, -30)
        return {"Name": f"{_PRODUCTS[product]} #{index + 1}",
                "AccountId": self.ref("Account", self.account_of_contact(contact)),
                "ContactId": self.ref("Contact", contact),
                "Product2Id": self.ref("Product2", product),
                "SerialNumber": f"SN{self.seed % 100:02d}{index + 1:07d}",
                "Status": rng.choice(_ASSET_STATUSES), "PurchaseDate": purchased.isoformat(),
                "InstallDate": (purchased + timedelta(days=7)).isoformat(),
                "UsageEndDate": (purchased + timedelta(days=1095)).isoformat()}  # fmt: skip

    def _contract(self, index: int) -> Record:
        start = self._date("contract-start", index, -700, -10)
        end = start + timedelta(days=365 * (1 + index % 3))
        return {"Name": f"Support contract {index + 1}",
                "AccountId": self.ref("Account", index), "ContactId": None,
                "StartDate": start.isoformat(), "EndDate": end.isoformat(),
                "Term": 12 * (1 + index % 3), "Status": _status(start, end)}  # fmt: skip

    def _entitlement(self, index: int) -> Record:
        account = self.account_of_contact(self.contact_of_asset(index))
        contract = self._contract(account)
        start, end = (
            date.fromisoformat(contract["StartDate"]),
            date.fromisoformat(contract["EndDate"]),
        )
        return {"Name": f"Entitlement {index + 1}", "AccountId": self.ref("Account", account),
                "AssetId": self.ref("Asset", index),
                "ServiceContractId": self.ref("ServiceContract", account),
                "StartDate": start.isoformat(), "EndDate": end.isoformat(),
                "Status": _status(start, end),
                "Type": ("Phone Support", "Web Support")[index % 2]}  # fmt: skip

    def _case(self, index: int) -> Record:
        rng = rng_for(self.seed, "sf-case", index)
        contact = (index * 7) % self.counts.contacts
        status = rng.choice(_CASE_STATUSES)
        return {"CaseNumber": f"{index + 1:08d}", "Subject": rng.choice(_SUBJECTS),
                "Description": None, "Status": status, "Priority": rng.choice(_PRIORITIES),
                "Origin": rng.choice(_ORIGINS), "Type": None,
                "AccountId": self.ref("Account", self.account_of_contact(contact)),
                "ContactId": self.ref("Contact", contact),
                "AssetId": None, "EntitlementId": None,
                "OwnerId": self.ref("User", index % self.counts.users),
                "IsClosed": status == "Closed", "ClosedDate": None, "SuppliedEmail": None,
                "SuppliedName": None, "Hub_Key__c": None}  # fmt: skip

    def _user(self, index: int) -> Record:
        first, last = ("Alex", "Sam", "Robin", "Kim", "Jo")[index % 5], f"Agent{index + 1}"
        email = f"{first.lower()}.{last.lower()}@sandbox-org.example"
        return {"Username": email, "Name": f"{first} {last}", "FirstName": first,
                "LastName": last, "Email": email, "Title": "Support Agent",
                "IsActive": index % 9 != 8, "UserType": "Standard"}  # fmt: skip


def _status(start: date, end: date) -> str:
    if start > TODAY:
        return "Inactive"
    return "Active" if end >= TODAY else "Expired"
