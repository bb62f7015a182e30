"""Partitioned classes end to end on a partitioned database (CouchDB 3, Cloudant): a
view and a Mango index per partition, and a global index beside them, deployed by
``sync`` and answering partition and global queries."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from _server import settle, skip_on_pouchdb, unique_db_name

from cloudant_odm import Document, Index, QueryError, Session, View
from cloudant_odm.client import CloudantV1, NotFoundError
from cloudant_odm.design import DesignOptions, sync

pytestmark = skip_on_pouchdb("partitions")


class Reading(Document, doc_type="partition_test_reading"):
    class Meta:
        partitioned = True
        partition_from = "sensor"
        design = "readings"

    sensor: str
    value: float = 0.0

    by_value = View.emit(key="value", value="value", reduce="_sum")  # per partition
    value_index = Index("value")  # per partition
    everywhere = DesignOptions(design="readings-global", partitioned=False)
    all_values = Index("value", design="readings-global", name="value-global")
    by_sensor = View.emit(key="sensor", reduce="_count", design="readings-global")


@pytest.fixture
def partitioned_db(client: CloudantV1) -> Iterator[str]:
    name = unique_db_name("cloudant-odm-partitions")
    client.put_database(name, partitioned=True)
    try:
        yield name
    finally:
        with contextlib.suppress(NotFoundError):
            client.delete_database(name)


def test_a_partitioned_class_deploys_and_answers_partition_and_global_queries(
    client: CloudantV1, partitioned_db: str
) -> None:
    report = sync(client, partitioned_db, [Reading], timeout=60)
    assert report.warnings == []
    design = client.get_design_document(partitioned_db, "readings").get_result()
    assert design["options"] == {"partitioned": True}
    glob = client.get_design_document(partitioned_db, "readings-global").get_result()
    assert glob["options"] == {"partitioned": False}

    session = Session(client, db=partitioned_db)
    for sensor, values in {"s-1": [1.0, 2.5, 4.0], "s-2": [3.0, 10.0]}.items():
        for value in values:
            session.add(Reading(sensor=sensor, value=value))
    session.commit()
    settle(client, partitioned_db, 5)

    one = Reading.objects.using(session).partition("s-1")
    assert sorted(r.value for r in one.filter(Reading.value > 1.5).all()) == [2.5, 4.0]
    assert sorted(r.sensor for r in Reading.objects.using(session).filter(Reading.value > 2.8)) == [
        "s-1",
        "s-2",
        "s-2",
    ]
    assert Reading.by_value.query(session, partition="s-2").scalar() == 13.0
    per_sensor = {r.key: r.value for r in Reading.by_sensor.query(session, group=True)}
    assert per_sensor == {"s-1": 3, "s-2": 2}

    again = sync(client, partitioned_db, [Reading], timeout=60)
    assert {c.action for c in again.changes} == {"unchanged"}


def test_a_global_query_of_a_partitioned_view_is_refused_with_the_way_out(
    client: CloudantV1, partitioned_db: str
) -> None:
    sync(client, partitioned_db, [Reading], timeout=60)
    session = Session(client, db=partitioned_db)
    with pytest.raises(QueryError, match="partition=") as info:
        Reading.by_value.query(session).scalar()
    assert "Reading.by_value" in str(info.value)
