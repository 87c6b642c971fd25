"""The personal-data vault: master key, data keys, field encryption, blind indexes, sealing
of canonical records and the encrypted secret store. See ``docs/security.md``.

Key hierarchy: the master key (``HUB_MASTER_KEY`` or ``secrets/master.key``) wraps versioned
data keys stored in the database; "data" keys seal values with AES-256-GCM into v1 tokens,
"index" keys compute blind indexes and content hashes, the "subject" key names customers in
``subject_keys``, whose per-customer keys seal that customer's values into v2 tokens
(:mod:`hub.vault.subjects`; forgetting a customer destroys their key). Keys rotate by policy
(:mod:`hub.vault.policy`, :mod:`hub.vault.rotation`); the rewrap job that reseals old values
is :mod:`hub.services.rewrap`.
"""

from hub.vault.blind_index import (
    blind_index,
    lookup_digests,
    normalise,
    normalise_email,
    normalise_phone,
)
from hub.vault.cipher import KeySource, open_token, parse_token, seal, token_key_id
from hub.vault.data_key import DataKey, Erased, KeyPurpose, KeyRetired, KeyStatus, SubjectKey
from hub.vault.keyring import Keyring, holds_data_keys
from hub.vault.master_key import DEFAULT_KEY_FILE, create_master_key, load_master_key
from hub.vault.sealing import (
    PreparedRecord,
    SealedRecord,
    indexed_values,
    open_raw,
    open_value,
    prepare_record,
    record_row,
    seal_record,
    seal_value,
    unseal_data,
)
from hub.vault.secret_store import (
    get_secret,
    list_secrets,
    referenced_secret,
    remove_secret,
    resolve_secret_refs,
    set_secret,
)
from hub.vault.wrapping import unwrap_data_key, wrap_data_key

__all__ = [
    "DEFAULT_KEY_FILE",
    "DataKey",
    "Erased",
    "KeyPurpose",
    "KeyRetired",
    "KeySource",
    "KeyStatus",
    "Keyring",
    "PreparedRecord",
    "SealedRecord",
    "SubjectKey",
    "blind_index",
    "create_master_key",
    "get_secret",
    "holds_data_keys",
    "indexed_values",
    "list_secrets",
    "load_master_key",
    "lookup_digests",
    "normalise",
    "normalise_email",
    "normalise_phone",
    "open_raw",
    "open_token",
    "open_value",
    "parse_token",
    "prepare_record",
    "record_row",
    "referenced_secret",
    "remove_secret",
    "resolve_secret_refs",
    "seal",
    "seal_record",
    "seal_value",
    "set_secret",
    "token_key_id",
    "unseal_data",
    "unwrap_data_key",
    "wrap_data_key",
]
