"""Moved to :mod:`cloudant_odm.schema.declarations`, below the session and the query
layer (this module keeps the old import path working)."""

from cloudant_odm.schema.declarations import *  # noqa: F403
from cloudant_odm.schema.declarations import __all__ as __all__
