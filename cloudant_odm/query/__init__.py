"""Queries: field expressions, ``Order.objects`` (Manager / QuerySet), view and search
queries, pages and cursors, and the default session."""

from cloudant_odm.client.flows import run
from cloudant_odm.context import connect, current_session, disconnect, use_session
from cloudant_odm.models.document import provide_class_access
from cloudant_odm.query.drivers import Drivers, register_drivers
from cloudant_odm.query.errors import (
    DocumentsNotFound,
    IndexRequiredError,
    InvalidCursorError,
    QueryError,
)
from cloudant_odm.query.expressions import (
    And,
    Condition,
    Expression,
    Field,
    Not,
    Or,
    Q,
    QueryWarning,
    Raw,
    SortKey,
    col,
)
from cloudant_odm.query.loading import NOT_LOADED, is_partial, loaded_fields
from cloudant_odm.query.manager import Manager
from cloudant_odm.query.paging import DEFAULT_PAGE_SIZE, Page
from cloudant_odm.query.queryset import QuerySet
from cloudant_odm.query.search import SearchResults, search_index
from cloudant_odm.query.views import ViewQuery, query_view
from cloudant_odm.schema.declarations import QueryRunners, provide_query_runners
from cloudant_odm.session import Session

# Order.<field>, Order.objects, View.query and SearchIndex.search come from here (the
# models and the declarations sit below this layer).
provide_class_access(Field._for_attribute, Manager)
provide_query_runners(QueryRunners(view=query_view, search=search_index))
# A Session's queries run with flows.run; cloudant_odm.aio registers the async classes.
register_drivers(Session, Drivers(QuerySet, ViewQuery, SearchResults, run))

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "NOT_LOADED",
    "And",
    "Condition",
    "DocumentsNotFound",
    "Expression",
    "Field",
    "IndexRequiredError",
    "InvalidCursorError",
    "Manager",
    "Not",
    "Or",
    "Page",
    "Q",
    "QueryError",
    "QuerySet",
    "QueryWarning",
    "Raw",
    "SortKey",
    "col",
    "connect",
    "current_session",
    "disconnect",
    "is_partial",
    "loaded_fields",
    "use_session",
]
