"""Typed documents: declaration, fields, the JSON converter and the type registry."""

from cloudant_odm.models.conversion import (
    converter,
    from_json,
    register_tagged_union,
    register_type,
    to_json,
)
from cloudant_odm.models.document import Document, Embedded
from cloudant_odm.models.errors import (
    DocumentDefinitionError,
    DocumentTypeError,
    DocumentValidationError,
)
from cloudant_odm.models.fields import field, json_key
from cloudant_odm.models.meta import DocumentMeta
from cloudant_odm.models.options import DocumentOptions, EmbeddedOptions
from cloudant_odm.models.refs import Ref
from cloudant_odm.models.registry import TypeRegistry, registry

__all__ = [
    "Document",
    "DocumentDefinitionError",
    "DocumentMeta",
    "DocumentOptions",
    "DocumentTypeError",
    "DocumentValidationError",
    "Embedded",
    "EmbeddedOptions",
    "Ref",
    "TypeRegistry",
    "converter",
    "field",
    "from_json",
    "json_key",
    "register_tagged_union",
    "register_type",
    "registry",
    "to_json",
]
