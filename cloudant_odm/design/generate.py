"""Moved to :mod:`cloudant_odm.schema.generate`, below the session and the query layer
(this module keeps the old import path working)."""

from cloudant_odm.schema.generate import *  # noqa: F403
from cloudant_odm.schema.generate import __all__ as __all__
