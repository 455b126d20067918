"""A tenant's policy changes and its batches serialize: a record is stored only under the policy in
force when its batch commits (a batch in flight while an admin turns usage collection off must not
store its usage records after the switch has committed).

On PostgreSQL, a transaction-scoped advisory lock per tenant: every batch takes it shared (batches of
one tenant run side by side), every change to what the decision reads (the client policy, Watson, a
Meetings App configuration, a user's opt-in) takes it exclusive. A change waits for the batches in
flight and the batches after it wait for the change; no row is written to take the lock. Other
databases (SQLite, a local run) serialize writing transactions themselves.
"""

from django.db import connection

# The first key of the two-key advisory lock: this lock's namespace among the database's users.
POLICY_LOCK_NAMESPACE = 0x7E1E


def policy_lock(*, tenant_id: int, shared: bool) -> None:
    """Take the tenant's policy lock until the end of the current transaction."""
    if connection.vendor != "postgresql":
        return
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s, %s)", [POLICY_LOCK_NAMESPACE, tenant_id])
