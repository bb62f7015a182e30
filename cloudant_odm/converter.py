"""The converter between documents and CouchDB JSON (``cloudant_odm.converter``).

``to_json(doc)`` / ``from_json(data, cls)`` are the two verbs; ``converter`` is the one
cattrs ``Converter`` behind them, for registering hooks of your own types (or use
``register_type`` and ``register_tagged_union``).
"""

from cloudant_odm.models.conversion import (
    converter,
    from_json,
    register_tagged_union,
    register_type,
    to_json,
)

__all__ = ["converter", "from_json", "register_tagged_union", "register_type", "to_json"]
