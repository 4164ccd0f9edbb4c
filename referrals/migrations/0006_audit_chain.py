"""The audit trail's hash chain, and PostgreSQL refusing UPDATE and DELETE on it.

The trigger is PostgreSQL only: `make run` uses SQLite, where this step does nothing.
Existing events are chained in id order before the trigger exists.
"""

import django.utils.timezone
from django.db import migrations, models

APPEND_ONLY = """
CREATE OR REPLACE FUNCTION referrals_auditevent_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER referrals_auditevent_append_only
    BEFORE UPDATE OR DELETE ON referrals_auditevent
    FOR EACH ROW EXECUTE FUNCTION referrals_auditevent_append_only();
"""

DROP_APPEND_ONLY = """
DROP TRIGGER IF EXISTS referrals_auditevent_append_only ON referrals_auditevent;
DROP FUNCTION IF EXISTS referrals_auditevent_append_only();
"""


def chain_existing_events(apps, schema_editor):
    from referrals.audit import GENESIS_HASH, audit_event_hash

    AuditEvent = apps.get_model("referrals", "AuditEvent")
    previous = GENESIS_HASH
    for event in AuditEvent.objects.using(schema_editor.connection.alias).order_by("id"):
        event.previous_hash = previous
        event.hash = previous = audit_event_hash(event)
        event.save(update_fields=["previous_hash", "hash"])


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(APPEND_ONLY, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_APPEND_ONLY, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("referrals", "0005_triage"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="previous_hash",
            field=models.CharField(default="", editable=False, max_length=64),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditevent",
            name="hash",
            field=models.CharField(default="", editable=False, max_length=64),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="action",
            field=models.CharField(
                choices=[
                    ("view", "Viewed"),
                    ("list", "Listed"),
                    ("create", "Created"),
                    ("update", "Updated"),
                    ("submit", "Submitted"),
                    ("review", "Reviewed"),
                    ("claim", "Claimed"),
                    ("acknowledge", "Acknowledged"),
                    ("request_information", "Requested information"),
                    ("provide_information", "Provided information"),
                    ("decide", "Decided"),
                    ("close", "Closed"),
                    ("withdraw", "Withdrew"),
                    ("transfer", "Transferred"),
                    ("share", "Shared"),
                    ("revoke_share", "Revoked a share"),
                    ("acknowledge_receipt", "Acknowledged receipt of a share"),
                    ("reassign", "Reassigned"),
                    ("note", "Added an internal note"),
                    ("escalate", "Escalated"),
                    ("download", "Downloaded"),
                    ("denied", "Denied access"),
                    ("sign_in", "Signed in"),
                    ("sign_in_failed", "Failed to sign in"),
                    ("sign_out", "Signed out"),
                    ("mfa_enrol", "Enrolled an authenticator"),
                    ("mfa_reset", "Reset a second factor"),
                    ("lockout", "Locked out after repeated failures"),
                    ("reauthenticate", "Confirmed their identity again"),
                    ("email_change", "Changed their email address"),
                    ("session_end", "Ended a session"),
                    ("admin_change", "Changed in the admin"),
                ],
                max_length=32,
            ),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="created_at",
            field=models.DateTimeField(
                db_index=True, default=django.utils.timezone.now, editable=False
            ),
        ),
        migrations.RunPython(chain_existing_events, migrations.RunPython.noop),
        migrations.RunPython(create_trigger, drop_trigger),
    ]
