"""The hot path's parameters, as PostgreSQL reads them: array literals built in C (storage.array_literal)
are read back as the values they were built from, whatever characters the strings hold."""

import datetime as dt
import uuid

import pytest
from django.db import connection
from hypothesis import given, settings
from hypothesis import strategies as st

from telemetry.storage import array_literal

pytestmark = pytest.mark.postgres

# PostgreSQL text holds no NUL; everything else may come from a client (scrubbed or not).
texts = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=12)


def read_back(values: list, sql_type: str) -> list:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT %s::{sql_type}[]", [array_literal(values)])
        return cursor.fetchone()[0]


@settings(max_examples=200, deadline=None)
@given(values=st.lists(texts, min_size=1, max_size=6))
@pytest.mark.django_db
def test_an_array_of_any_strings_reads_back_as_sent(values):
    assert read_back(values, "text") == values


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("values", "sql_type"),
    [
        ([1, 0, -5, 2**40], "bigint"),
        ([dt.date(2026, 12, 3), dt.date(1, 1, 1)], "date"),
        ([uuid.uuid4(), uuid.UUID(int=0), uuid.UUID(int=2**128 - 1)], "uuid"),
        (['a"b', "c\\d", "{e,f}", "NULL", "", " g "], "text"),
        (["x", None], "text"),
        ([], "text"),
    ],
)
def test_an_array_of_one_kind_reads_back_as_sent(values, sql_type):
    assert read_back(values, sql_type) == values
