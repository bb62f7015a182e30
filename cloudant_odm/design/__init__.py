"""Design documents: declare views and indexes on document classes, generate the design
documents, and deploy them without making queries wait for index builds.

- Declarations (class attributes of a ``Document`` subclass): :class:`View`,
  :class:`Index`, :class:`SearchIndex`, :class:`Filter`, :class:`ValidateDocUpdate`,
  :class:`DesignOptions`.
- :func:`generate` gives the canonical design documents and Mango indexes.
- :func:`sync` deploys them (move-and-switch for changed design documents), and
  :func:`rollback` restores the previous versions (``cloudant_odm.aio.sync_design`` and
  ``rollback_design`` are the same, awaited).

See docs/deploying.md.
"""

from cloudant_odm.design.sync import (
    BuildTimeoutError,
    Change,
    DeployChange,
    DeployConflictError,
    DeployError,
    DeployLockedError,
    Progress,
    ProgressCallback,
    SyncReport,
    render,
    rollback,
    sync,
)
from cloudant_odm.schema.declarations import (
    ANALYZERS,
    BUILTIN_REDUCES,
    Declaration,
    DesignDefinitionError,
    DesignOptions,
    Filter,
    Index,
    SearchIndex,
    ValidateDocUpdate,
    View,
    declarations_of,
)
from cloudant_odm.schema.generate import (
    DesignDocument,
    Generated,
    GeneratedDesignDocument,
    MangoIndex,
    collect_models,
    generate,
)

__all__ = [
    "ANALYZERS",
    "BUILTIN_REDUCES",
    "BuildTimeoutError",
    "Change",
    "Declaration",
    "DeployChange",
    "DeployConflictError",
    "DeployError",
    "DeployLockedError",
    "DesignDefinitionError",
    "DesignDocument",
    "DesignOptions",
    "Filter",
    "Generated",
    "GeneratedDesignDocument",
    "Index",
    "MangoIndex",
    "Progress",
    "ProgressCallback",
    "SearchIndex",
    "SyncReport",
    "ValidateDocUpdate",
    "View",
    "collect_models",
    "declarations_of",
    "generate",
    "render",
    "rollback",
    "sync",
]
