"""The Twilio API emulator (see :class:`TwilioSandbox`)."""

from connectors.twilio.sandbox.app import TwilioSandbox

__all__ = ["TwilioSandbox"]
