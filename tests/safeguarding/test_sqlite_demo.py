"""The demo runs on SQLite: its database-specific branches work there, end to end.

`make run` uses SQLite and a file-system broker. The code keeps a few branches for it (no row
locks or SKIP LOCKED in the sweep, bulk statements instead of PostgreSQL's UNNEST, exact-key
matching instead of trigrams, no advisory lock on the audit chain, a fixed feed horizon); the
rest of the suite runs on PostgreSQL, so this test drives those branches (and a send, whose
authority is read without its rules as JSON) in a separate process on a fresh SQLite file, as
the demo does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

# Runs in the demo's process: the sweep, the relay, matching, the feed and the chain.
SCRIPT = """
import json
import django
django.setup()
from django.core import mail
from agencies.capabilities import agencies_with_capability
from agencies.models import User
from referrals.api.feed import feed_horizon
from referrals.casework.referrals import referral_send
from referrals.children.selectors import child_find_for_user
from referrals.clocks.sweep import referral_escalations_sweep
from referrals.models import Child, Escalation, Notification
from referrals.outbox.relay import notifications_relay

dsl = User.objects.get(email="dsl@riverside.example")
child = Child.objects.filter(created_by_agency__name="Riverside Primary School").first()
# Sent as the check page sends it: the authority's rules read when first asked (no JSON lists).
referral = referral_send(
    user=dsl,
    agency=agencies_with_capability(user=dsl, capability="referrals.add_referral")[0],
    child=child,
    urgency="standard",
    reason="Demo.",
    consent="given",
    parents_aware="yes",
)
# One rung per sweep: level 1 now, level 2 (long due in the demo) next, then nothing more.
sweeps = [referral_escalations_sweep() for _ in range(3)]
emails = Notification.objects.filter(email_status="pending").count()
sent = notifications_relay()
found = child_find_for_user(
    user=dsl,
    first_name=child.first_name,
    last_name=child.last_name,
    date_of_birth=child.date_of_birth,
)
print(json.dumps({
    "sweeps": sweeps,
    "escalations": Escalation.objects.count(),
    "emails_pending": emails,
    "sent": sent,
    "outbox_left": Notification.objects.filter(email_status="pending").count(),
    "mailed": len(mail.outbox),
    "found_first": found[0].child.pk == child.pk if found else False,
    "horizon": feed_horizon().isoformat(),
    "routed": referral.team_id is not None and referral.status == "submitted",
}))
"""


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def test_the_demo_migrates_seeds_escalates_relays_matches_and_verifies_on_sqlite(
    tmp_path: Path,
) -> None:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "safeguarding.settings",
        "DEMO_MODE": "1",
        "DATA_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "CELERY_BROKER_URL": "filesystem://",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    }
    _run(["manage.py", "migrate", "--no-input", "-v", "0"], env)
    _run(["manage.py", "seed_demo"], env)

    figures = json.loads(_run(["-c", SCRIPT], env).stdout.strip().splitlines()[-1])

    # The demo's overdue referrals go up the ladder a rung a sweep, each rung once.
    first, second, third = figures["sweeps"]
    assert first >= 1
    assert third == 0
    assert figures["escalations"] == first + second
    # Every email the sweep and the demo queued is sent by the relay, none left behind.
    assert figures["emails_pending"] >= 1
    assert figures["sent"] == figures["emails_pending"] == figures["mailed"]
    assert figures["outbox_left"] == 0
    # Matching by exact keys finds the child the school recorded.
    assert figures["found_first"] is True
    assert figures["horizon"]
    # A referral sent from the check page is routed by the rules SQLite reads one by one.
    assert figures["routed"] is True
    # Every write above kept the audit chain whole.
    verified = _run(["manage.py", "audit_verify"], env)
    assert "The audit trail is intact" in verified.stdout
