"""Registers the Twilio connector, its sandbox, its mapping folder and its address transform.

Loaded through the ``hub`` entry-point group (``twilio = "connectors.twilio.plugin"`` in
``pyproject.toml``), exactly as a third-party connector package would be.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from connectors.twilio.connector import TwilioConnector
from hub.connector import Connector
from hub.plugins import hookimpl

if TYPE_CHECKING:
    from hub.sandbox.app import SandboxApp

# The repository's ``mappings/`` folder, next to the ``connectors`` package.
MAPPINGS_DIR = Path(__file__).resolve().parents[2] / "mappings"
# Twilio addresses name their channel by prefix: ``whatsapp:+1555...``; a bare number is SMS
# or the phone network. ``client:``, ``sip:`` and the like are not phone numbers.
_PHONE_PREFIXES = ("whatsapp:", "messenger:", "tel:")


@hookimpl
def hub_register_connectors() -> list[type[Connector]]:
    """The Twilio connector."""
    return [TwilioConnector]


@hookimpl
def hub_register_sandboxes() -> list[type[SandboxApp]]:
    """The Twilio emulator, imported only when a sandbox is wanted."""
    from connectors.twilio.sandbox import TwilioSandbox

    return [TwilioSandbox]


@hookimpl
def hub_mapping_paths() -> list[str]:
    """Where ``twilio.yaml`` lives."""
    return [str(MAPPINGS_DIR)]


def address_phone(value: Any) -> str | None:
    """The phone number in a Twilio address (``whatsapp:+1555...`` -> ``+1555...``), or None
    for an address that is no number (``client:alice``, ``sip:...``)."""
    if not isinstance(value, str):
        return None
    for prefix in _PHONE_PREFIXES:
        if value.startswith(prefix):
            value = value[len(prefix) :]
            break
    return value if value.startswith("+") else None


def channel(record: Any, otherwise: str) -> str | None:
    """``whatsapp`` when either party of a message or call (the record, mapped from ``@``)
    is a ``whatsapp:`` address, else ``otherwise`` (sms for messages, phone for calls).

    A transform rather than the equivalent JMESPath (``starts_with(to, 'whatsapp:') || ...``):
    the interpreter cost a tenth of a Twilio sync's engine time (docs/performance.md)."""
    if not isinstance(record, dict):
        return None
    parties = (record.get("to"), record.get("from"))
    if any(isinstance(p, str) and p.startswith("whatsapp:") for p in parties):
        return "whatsapp"
    return otherwise


def customer_address(record: Any) -> Any:
    """The customer's side of a message or call (the record, mapped from ``@``): the sender of
    an inbound one, else the recipient (outbound-api, outbound-reply, outbound-dial, ...)."""
    if not isinstance(record, dict):
        return None
    return record.get("from") if record.get("direction") == "inbound" else record.get("to")


@hookimpl
def hub_register_transforms() -> dict[str, Any]:
    """``twilio_phone``: the number in a Twilio address (the ``phone`` transform follows);
    ``twilio_channel`` and ``twilio_customer``: the channel and the customer's address of a
    whole message or call record."""
    return {
        "twilio_phone": address_phone,
        "twilio_channel": channel,
        "twilio_customer": customer_address,
    }
