"""The registry of encrypted columns, and their associated data.

Every encrypted value is bound to ``"<table>/<column>/<row key>"`` (``crypto.aad_for``), so a ciphertext copied
to another row, column or table fails to decrypt. The table name is the model's own ``_meta.db_table`` (never
a hand-typed string that could drift from it), and each model declares its encrypted columns here once, next to
its definition; key rotation walks this registry.
"""

from calendar_sync.encryption.crypto import aad_for

_COLUMNS = {}


def register_encrypted(model, *columns):
    """Declare ``model``'s encrypted columns (called where the model is defined). Returns the table name."""
    table = model._meta.db_table
    _COLUMNS[table] = tuple(columns)
    return table


def encrypted_tables():
    """``{db_table: (column, ...)}`` of every registered model."""
    return dict(_COLUMNS)


def table_of(model):
    table = model._meta.db_table
    if table not in _COLUMNS:
        raise LookupError(f"{model.__name__} declares no encrypted columns (register_encrypted)")
    return table


def aad(model, column, row_key):
    """The associated data of ``model``'s encrypted ``column`` for the row ``row_key``."""
    table = table_of(model)
    if column not in _COLUMNS[table]:
        raise LookupError(f"{table}.{column} is not a registered encrypted column")
    return aad_for(table, column, row_key)
