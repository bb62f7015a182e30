"""Moved to :mod:`cloudant_odm.context` (the default session is not a query concept;
this module keeps the old import path working)."""

from cloudant_odm.context import *  # noqa: F403
from cloudant_odm.context import __all__ as __all__
