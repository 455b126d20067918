"""The periodic maintenance of lifecycle.md, one idempotent step at a time (`maintain_telemetry`)."""

import random
import uuid

from django.db import connection, transaction

from telemetry.models import CensusRecord, StagedCensusRecord
from telemetry.records import CENSUS_COLUMNS

# Every census column but the id, which the move draws afresh.
_MOVED_COLUMNS = tuple(column for column in CENSUS_COLUMNS if column != "id")


def census_move_staged() -> int:
    """Move every staged census row into the census table; how many were moved.

    One transaction of its own takes every row staged since the last run (of every batch, however few),
    inserts them in random order under new random ids and deletes them from the staging table. After
    it, no census row shares a transaction id, an id or a physical neighbourhood with the batch it came
    in, nor so with that batch's tenant (lifecycle.md, "Census unlinkability").
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            columns = ", ".join(_MOVED_COLUMNS)
            with connection.cursor() as cursor:
                cursor.execute(
                    f"WITH moved AS (DELETE FROM {StagedCensusRecord._meta.db_table} RETURNING {columns}) "  # noqa: S608
                    f"INSERT INTO {CensusRecord._meta.db_table} (id, {columns}) "
                    f"SELECT gen_random_uuid(), {columns} FROM moved ORDER BY random()"
                )
                return cursor.rowcount
        staged = list(StagedCensusRecord.objects.values_list("id", *_MOVED_COLUMNS))
        if not staged:
            return 0
        StagedCensusRecord.objects.filter(pk__in=[row[0] for row in staged]).delete()
        random.shuffle(staged)
        CensusRecord.objects.bulk_create(
            [CensusRecord(id=uuid.uuid4(), **dict(zip(_MOVED_COLUMNS, row[1:], strict=True))) for row in staged],
            batch_size=500,
        )
        return len(staged)
