"""cloudant_odm: a typed object-document mapper and endpoint client for Cloudant and CouchDB."""

from cloudant_odm._version import __version__

__all__ = ["__version__"]
