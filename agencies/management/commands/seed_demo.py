"""Demo agencies, people, children, concerns and referrals in every state (demo mode only).

Idempotent: setup data is matched by its natural keys, and the story of children, concerns and
referrals is told once, the first time. Every record about a child is made through the same
services the pages use, so the audit trail and timelines are real.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import get_application_model

from agencies.models import (
    Agency,
    AgencyKind,
    LocalAuthority,
    Membership,
    Role,
    RoutingRule,
    Team,
    TeamKind,
    User,
)
from referrals.casework.partners import api_client_create
from referrals.casework.referrals import (
    referral_create,
    referral_submit,
    referral_transfer,
    referral_withdraw,
)
from referrals.casework.sharing import agency_group, referral_share
from referrals.casework.triage import (
    referral_acknowledge,
    referral_close,
    referral_decide,
    referral_provide_information,
    referral_request_information,
)
from referrals.children.household import household_member_add
from referrals.children.services import child_create
from referrals.clocks.calendar import WorkingCalendar
from referrals.concerns.services import concern_create, concern_review
from referrals.core.choices import CinCategory, Factor, Urgency
from referrals.models import Child, Concern, Decision, Referral
from referrals.patterns.services import concern_share_with_authority

DEMO_USERS: list[tuple[str, str, str, str, str, str | None]] = [
    # email, first, last, agency, role, team
    ("teacher@riverside.example", "Tom", "Teacher", "Riverside Primary School", Role.STAFF, None),
    ("dsl@riverside.example", "Dina", "Lead", "Riverside Primary School", Role.DSL, None),
    ("dsl@hillview.example", "Harriet", "Lead", "Hillview Academy", Role.DSL, None),
    (
        "sw@northshire.example",
        "Sam",
        "Worker",
        "Northshire Children's Services",
        Role.SOCIAL_WORKER,
        "Front Door",
    ),
    (
        "manager@northshire.example",
        "Morgan",
        "Manager",
        "Northshire Children's Services",
        Role.TEAM_MANAGER,
        "Front Door",
    ),
    (
        "edt@northshire.example",
        "Eddie",
        "Duty",
        "Northshire Children's Services",
        Role.SOCIAL_WORKER,
        "Emergency Duty Team",
    ),
    ("officer@police.example", "Olive", "Officer", "Northshire Police", Role.DSL, None),
    ("nurse@health.example", "Nia", "Nurse", "Northshire Community Health", Role.DSL, None),
    ("dsl@southvale.example", "Sunil", "Lead", "Southvale High School", Role.DSL, None),
    (
        "sw@southvale.example",
        "Sofia",
        "Worker",
        "Southvale Children's Services",
        Role.SOCIAL_WORKER,
        "Front Door",
    ),
    (
        "admin@northshire.example",
        "Ada",
        "Admin",
        "Northshire Children's Services",
        Role.AGENCY_ADMIN,
        None,
    ),
]


# The platform operator: runs the service for every authority (a superuser, in the admin only).
DEMO_OPERATOR = "operator@platform.example"

# Agency systems for the API: client id; the secret is the id followed by "-secret".
DEMO_API_CLIENTS = [
    ("Northshire Police", "demo-northshire-police"),
    ("Southvale Children's Services", "demo-southvale-csc"),
]


class Command(BaseCommand):
    help = "Load the demo agencies, people and records (demo mode only; idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEMO_MODE:
            raise CommandError("seed_demo only runs in demo mode (DEMO_MODE=1).")
        with transaction.atomic():
            agencies = self._setup()
            users = self._users(agencies)
            self._api_clients(agencies)
        if Child.objects.filter(created_by_agency__in=agencies.values()).exists():
            self.stdout.write("Demo data already loaded.")
        else:
            with transaction.atomic():
                self._story(agencies, users)
            self.stdout.write(self.style.SUCCESS("Demo data loaded."))
        self._print_sign_ins()

    def _print_sign_ins(self) -> None:
        self.stdout.write(f"\nDemo sign-ins (password: {settings.DEMO_PASSWORD}):")
        for email, _first, _last, agency, role, team in DEMO_USERS:
            where = f"{team}, {agency}" if team else agency
            self.stdout.write(f"  {email:<28} {Role(role).label}, {where}")
        self.stdout.write(f"  {DEMO_OPERATOR:<28} Platform operator (the admin, every authority)")

    # Setup data -----------------------------------------------------------------------------

    def _setup(self) -> dict[str, Agency]:
        northshire, _ = LocalAuthority.objects.get_or_create(
            ons_code="E06009901",
            defaults={
                "name": "Northshire",
                "front_door_phone": "01632 960001",
                "out_of_hours_phone": "01632 960002",
            },
        )
        southvale, _ = LocalAuthority.objects.get_or_create(
            ons_code="E06009902",
            defaults={
                "name": "Southvale",
                "front_door_phone": "01632 960101",
                "out_of_hours_phone": "01632 960102",
            },
        )
        specs = [
            ("Riverside Primary School", AgencyKind.SCHOOL, northshire, {"urn": "900001"}),
            ("Hillview Academy", AgencyKind.SCHOOL, northshire, {"urn": "900002"}),
            ("Northshire Children's Services", AgencyKind.CHILDRENS_SOCIAL_CARE, northshire, {}),
            ("Northshire Police", AgencyKind.POLICE, northshire, {}),
            ("Northshire Community Health", AgencyKind.HEALTH, northshire, {"ods_code": "RX901"}),
            ("Southvale High School", AgencyKind.SCHOOL, southvale, {"urn": "900101"}),
            ("Southvale Children's Services", AgencyKind.CHILDRENS_SOCIAL_CARE, southvale, {}),
        ]
        agencies = {}
        for name, kind, authority, extra in specs:
            agency, _ = Agency.objects.get_or_create(
                local_authority=authority, name=name, defaults={"kind": kind, **extra}
            )
            agency_group(agency)
            agencies[name] = agency
        csc_north = agencies["Northshire Children's Services"]
        front_door, _ = Team.objects.get_or_create(
            agency=csc_north, name="Front Door", defaults={"kind": TeamKind.TRIAGE}
        )
        edt, _ = Team.objects.get_or_create(
            agency=csc_north, name="Emergency Duty Team", defaults={"kind": TeamKind.EMERGENCY_DUTY}
        )
        south_door, _ = Team.objects.get_or_create(
            agency=agencies["Southvale Children's Services"],
            name="Front Door",
            defaults={"kind": TeamKind.TRIAGE},
        )
        if not northshire.routing_rules.exists():
            RoutingRule.objects.create(
                local_authority=northshire,
                position=10,
                team=edt,
                urgency=Urgency.IMMEDIATE,
                out_of_hours=RoutingRule.OutOfHours.OUT_OF_HOURS,
            )
            RoutingRule.objects.create(local_authority=northshire, position=100, team=front_door)
        if not southvale.routing_rules.exists():
            RoutingRule.objects.create(local_authority=southvale, position=100, team=south_door)
        return agencies

    def _users(self, agencies: dict[str, Agency]) -> dict[str, User]:
        password = settings.DEMO_PASSWORD
        users = {}
        for email, first, last, agency_name, role, team_name in DEMO_USERS:
            user = User.objects.filter(email=email).first()
            if user is None:
                user = User.objects.create_user(
                    email, password, first_name=first, last_name=last, phone="01632 960999"
                )
            if role == Role.AGENCY_ADMIN and not user.is_staff:
                # The admin site, scoped to their agency; never a superuser.
                user.is_staff = True
                user.save(update_fields=["is_staff"])
            agency = agencies[agency_name]
            team = Team.objects.get(agency=agency, name=team_name) if team_name else None
            Membership.objects.get_or_create(user=user, agency=agency, team=team, role=role)
            users[email] = user
        if not User.objects.filter(email=DEMO_OPERATOR).exists():
            User.objects.create_superuser(
                DEMO_OPERATOR, password, first_name="Olu", last_name="Operator"
            )
        return users

    def _api_clients(self, agencies: dict[str, Agency]) -> None:
        """OAuth2 client-credentials applications for two agencies' systems (see README)."""

        for agency_name, client_id in DEMO_API_CLIENTS:
            if not get_application_model().objects.filter(client_id=client_id).exists():
                api_client_create(
                    agency=agencies[agency_name],
                    name=f"{agency_name} system",
                    client_id=client_id,
                    client_secret=f"{client_id}-secret",
                )

    # The story ------------------------------------------------------------------------------

    def _story(self, agencies: dict[str, Agency], users: dict[str, User]) -> None:
        riverside = agencies["Riverside Primary School"]
        hillview = agencies["Hillview Academy"]
        police = agencies["Northshire Police"]
        health = agencies["Northshire Community Health"]
        southvale_high = agencies["Southvale High School"]
        teacher = users["teacher@riverside.example"]
        dsl = users["dsl@riverside.example"]
        hill_dsl = users["dsl@hillview.example"]
        sw = users["sw@northshire.example"]
        manager = users["manager@northshire.example"]
        officer = users["officer@police.example"]
        south_dsl = users["dsl@southvale.example"]
        now = timezone.now()

        def child(
            agency: Agency, user: User, first: str, last: str, born: str, **extra: Any
        ) -> Child:
            return child_create(
                user=user,
                agency=agency,
                first_name=first,
                last_name=last,
                date_of_birth=datetime.date.fromisoformat(born),
                **extra,
            )

        def concern(agency: Agency, user: User, kid: Child, what: str, **extra: Any) -> Concern:
            return concern_create(
                user=user,
                agency=agency,
                child=kid,
                observed_at=now - datetime.timedelta(days=1),
                location="Classroom",
                what_happened=what,
                **extra,
            )

        def referral(
            agency: Agency,
            user: User,
            kid: Child,
            urgency: str = Urgency.STANDARD,
            concerns: tuple[Concern, ...] = (),
            received_at: datetime.datetime | None = None,
        ) -> Referral:
            draft = referral_create(
                user=user,
                agency=agency,
                child=kid,
                concerns=concerns,
                urgency=urgency,
                category=CinCategory.NEGLECT,
                reason="Repeated signs of neglect seen over several weeks.",
                desired_outcome="An assessment of the family's needs.",
                consent=Referral.Consent.GIVEN,
            )
            return referral_submit(referral=draft, user=user, received_at=received_at)

        amy = child(
            riverside,
            teacher,
            "Amy",
            "Example",
            "2016-03-14",
            sex="female",
            postcode="NS1 1AA",
            nhs_number="9434765919",
        )
        ben = child(riverside, dsl, "Ben", "Sample", "2015-07-02", sex="male", postcode="NS1 2BB")
        cara = child(police, officer, "Cara", "Specimen", "2012-11-30", sex="female")
        dan = child(hillview, hill_dsl, "Dan", "Placeholder", "2010-01-20", sex="male")
        eve = child(riverside, dsl, "Eve", "Mockford", "2017-05-05", sex="female")
        finn = child(riverside, dsl, "Finn", "Dummy", "2014-09-09", sex="male")
        gus = child(riverside, dsl, "Gus", "Testwell", "2013-02-28", sex="male")
        hana = child(hillview, hill_dsl, "Hana", "Fictional", "2011-12-12", sex="female")
        ivy = child(riverside, dsl, "Ivy", "Imaginary", "2016-08-08", sex="female")
        jay = child(hillview, hill_dsl, "Jay", "Invented", "2009-04-04", sex="male")
        kim = child(southvale_high, south_dsl, "Kim", "Southern", "2010-06-06", sex="female")

        # A teacher's concern, waiting for the DSL.
        concern(
            riverside,
            teacher,
            amy,
            "Amy arrived hungry for the third day running and had a bruise on her arm.",
            categories=[CinCategory.NEGLECT, CinCategory.PHYSICAL],
            childs_words="Mum said I fell over.",
            injuries=[{"region": "left upper arm", "note": "bruise, about 3 cm, yellowing"}],
        )
        # Concerns the DSL reviewed: one monitored, one referred.
        watched = concern(riverside, teacher, ben, "Ben seemed withdrawn after the weekend.")
        concern_review(
            concern=watched,
            user=dsl,
            outcome=Concern.Outcome.MONITOR,
            rationale="First sign; class teacher to watch and record.",
        )
        referred = concern(
            riverside,
            teacher,
            ben,
            "Ben said there is no food at home.",
            categories=[CinCategory.NEGLECT],
            childs_words="There's never anything to eat.",
        )
        concern_review(
            concern=referred,
            user=dsl,
            outcome=Concern.Outcome.REFER,
            rationale="Second concern in a week, child's own account of no food.",
        )

        # A draft the DSL has not sent yet.
        referral_create(
            user=dsl,
            agency=riverside,
            child=eve,
            urgency=Urgency.STANDARD,
            reason="Draft: worries about attendance.",
            consent=Referral.Consent.NOT_SOUGHT,
            consent_reason="Not yet discussed with the family.",
        )
        # Submitted, waiting in the Front Door queue.
        referral(riverside, dsl, ben, concerns=(referred,))
        # Immediate risk, never acknowledged: overdue, so the first sweep after `make run`
        # starts escalates it to Morgan, the Front Door's manager. Received in working hours
        # (two hours ago, or the last working time before that), so it is in the Front Door's
        # queue whatever hour the demo starts, not the out-of-hours team's.
        received = now - datetime.timedelta(hours=2)
        calendar = WorkingCalendar(police.local_authority)
        while not calendar.is_working_time(received):
            received -= datetime.timedelta(minutes=15)
        referral(police, officer, cara, urgency=Urgency.IMMEDIATE, received_at=received)
        # Acknowledged and owned by the social worker.
        acked = referral(hillview, hill_dsl, dan, urgency=Urgency.URGENT)
        referral_acknowledge(referral=acked, user=sw)
        # Information requested, and one where it was answered.
        asked = referral(riverside, dsl, finn)
        referral_acknowledge(referral=asked, user=sw)
        referral_request_information(
            referral=asked, user=sw, message="Have the parents been told about the referral?"
        )
        answered = referral(riverside, dsl, gus)
        referral_acknowledge(referral=answered, user=sw)
        referral_request_information(
            referral=answered, user=sw, message="Who else lives at the address?"
        )
        referral_provide_information(
            referral=answered, user=dsl, message="Mother, her partner and a baby brother."
        )
        # Decided, with feedback to the school, and shared with health for a strategy meeting.
        decided = referral(hillview, hill_dsl, hana, urgency=Urgency.URGENT)
        referral_acknowledge(referral=decided, user=manager)
        referral_decide(
            referral=decided,
            user=manager,
            outcome=Decision.Outcome.SECTION_47,
            rationale="Disclosure of physical harm by a household member.",
            feedback="A strategy discussion is being held today; please keep us informed.",
            category=CinCategory.PHYSICAL,
            factors=[Factor.DOMESTIC_ABUSE],
        )
        referral_share(
            referral=decided,
            user=manager,
            agency=health,
            reason="Strategy discussion under section 47 needs health's view.",
            expires_at=now + datetime.timedelta(days=30),
        )
        # Decided and closed.
        closed = referral(riverside, dsl, ivy)
        referral_acknowledge(referral=closed, user=sw)
        referral_decide(
            referral=closed,
            user=sw,
            outcome=Decision.Outcome.NO_FURTHER_ACTION,
            rationale="Already known to early help, who are working with the family.",
            feedback="No further action by children's social care; early help remain involved.",
        )
        referral_close(referral=closed, user=sw)
        # Withdrawn by the referrer before acknowledgement.
        withdrawn = referral(riverside, dsl, amy)
        referral_withdraw(
            referral=withdrawn, user=dsl, reason="Sent in error: the concern is still under review."
        )
        # Transferred: the family moved to Southvale.
        moved = referral(hillview, hill_dsl, jay)
        referral_transfer(
            referral=moved,
            user=manager,
            to_authority=kim.local_authority,
            reason="The family moved to Southvale last month.",
        )
        # Southvale's own referral.
        referral(southvale_high, south_dsl, kim)
        self._joined_up(agencies, users, now)

    def _joined_up(self, agencies: dict[str, Agency], users: dict[str, User], now: Any) -> None:
        """Issue 9: one child known to three agencies by two records, whose low-level concerns
        add up to a pattern in the Front Door's queue; a likely duplicate; an adult at home."""

        riverside = agencies["Riverside Primary School"]
        police = agencies["Northshire Police"]
        health = agencies["Northshire Community Health"]
        dsl = users["dsl@riverside.example"]
        officer = users["officer@police.example"]
        nurse = users["nurse@health.example"]
        school_record = child_create(
            user=dsl,
            agency=riverside,
            first_name="Jayden",
            last_name="Cole-Marsh",
            date_of_birth=datetime.date(2016, 3, 9),
            address="4 Quarry Row\nNorthtown",
            postcode="NS2 7QR",
        )
        police_record = child_create(
            user=officer,
            agency=police,
            first_name="Jaden",
            last_name="Marsh",
            date_of_birth=datetime.date(2016, 9, 3),
            address="4 Quarry Row",
            postcode="NS2 7QR",
        )
        child_create(
            user=officer,
            agency=police,
            first_name="Skye",
            last_name="Marsh",
            date_of_birth=datetime.date(2012, 1, 17),
            address="4 Quarry Row",
            postcode="NS2 7QR",
        )
        for agency, user, kid, days, what in (
            (riverside, dsl, school_record, 40, "Arrived hungry three days this week."),
            (health, nurse, school_record, 20, "Weight has dropped since the last check."),
            (police, officer, police_record, 5, "Attended a domestic incident; Jaden was present."),
        ):
            concern = concern_create(
                user=user,
                agency=agency,
                child=kid,
                observed_at=now - datetime.timedelta(days=days),
                location="",
                what_happened=what,
            )
            concern_share_with_authority(
                concern=concern,
                user=user,
                reason="Below the threshold alone; sharing for the picture.",
            )
        household_member_add(
            user=dsl,
            agency=riverside,
            child=school_record,
            first_name="Ray",
            last_name="Denton",
            relationship="parents_partner",
            lives_with_child=True,
            joined_on=(now - datetime.timedelta(days=60)).date(),
        )
