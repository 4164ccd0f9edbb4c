"""Local authorities, agencies, their teams, who works where, and how referrals are routed."""

from __future__ import annotations

import datetime
from typing import Any, ClassVar

from django.contrib.auth.base_user import BaseUserManager
from django.contrib.auth.models import AbstractUser, Group
from django.db import models
from django.db.models import Q

from referrals.core.choices import CinCategory, Urgency


class UserManager(BaseUserManager["User"]):
    """People sign in with their email address; there is no username."""

    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra: Any) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    username = None  # type: ignore[assignment]
    email = models.EmailField("email address", unique=True)
    phone = models.CharField(max_length=32, blank=True)
    # The account an agency's system acts as over the API; it never signs in to the pages and
    # is never sent notifications.
    is_agency_system = models.BooleanField(default=False)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    objects: ClassVar[UserManager] = UserManager()  # type: ignore[assignment]

    def __str__(self) -> str:
        return self.get_full_name() or self.email


class Nation(models.TextChoices):
    """Picks the bank-holiday calendar (the `holidays` package's UK subdivisions)."""

    ENGLAND = "ENG", "England"
    WALES = "WLS", "Wales"
    SCOTLAND = "SCT", "Scotland"
    NORTHERN_IRELAND = "NIR", "Northern Ireland"


def _default_working_weekdays() -> list[int]:
    return [0, 1, 2, 3, 4]


class LocalAuthority(models.Model):
    name = models.CharField(max_length=200, unique=True)
    ons_code = models.CharField("ONS code", max_length=9, unique=True)
    nation = models.CharField(max_length=3, choices=Nation.choices, default=Nation.ENGLAND)
    front_door_phone = models.CharField(
        max_length=32,
        blank=True,
        help_text="Shown on every concern form: call this, or 999.",
    )
    out_of_hours_phone = models.CharField(max_length=32, blank=True)
    # Working hours, in Europe/London time, Monday=0.
    working_weekdays = models.JSONField(default=_default_working_weekdays)
    opens_at = models.TimeField(default=datetime.time(9, 0))
    closes_at = models.TimeField(default=datetime.time(17, 0))
    # Clocks and the escalation ladder; the defaults follow Working Together.
    immediate_acknowledge_minutes = models.PositiveIntegerField(default=60)
    working_days_to_acknowledge = models.PositiveSmallIntegerField(default=1)
    working_days_to_decide = models.PositiveSmallIntegerField(default=1)
    escalation_level_two_after_minutes = models.PositiveIntegerField(
        default=120, help_text="How long after level 1 the service managers are told."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "local authorities"
        ordering = ("name",)
        constraints = [
            models.CheckConstraint(
                condition=Q(opens_at__lt=models.F("closes_at")),
                name="authority_opens_before_close",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ClosureDay(models.Model):
    """A day an authority's office is closed on top of the nation's bank holidays."""

    local_authority = models.ForeignKey(
        LocalAuthority, on_delete=models.CASCADE, related_name="closure_days"
    )
    date = models.DateField()
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ("date",)
        constraints = [
            models.UniqueConstraint(fields=["local_authority", "date"], name="closure_day_unique")
        ]

    def __str__(self) -> str:
        return f"{self.local_authority}: {self.date:%d %B %Y}"


class AgencyKind(models.TextChoices):
    SCHOOL = "school", "School"
    CHILDRENS_SOCIAL_CARE = "csc", "Children's social care"
    POLICE = "police", "Police"
    HEALTH = "health", "Health"
    EARLY_HELP = "early_help", "Early help"
    HOUSING = "housing", "Housing"
    OTHER = "other", "Other"


# Children in Need census referral source codes, by the kind of agency that refers.
CIN_REFERRAL_SOURCE = {
    AgencyKind.SCHOOL: "2A",
    AgencyKind.HEALTH: "3E",
    AgencyKind.HOUSING: "4",
    AgencyKind.CHILDRENS_SOCIAL_CARE: "5A",
    AgencyKind.POLICE: "6",
    AgencyKind.EARLY_HELP: "5D",
    AgencyKind.OTHER: "9",
}


class Agency(models.Model):
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=AgencyKind.choices)
    local_authority = models.ForeignKey(
        LocalAuthority, on_delete=models.PROTECT, related_name="agencies"
    )
    urn = models.CharField("school URN", max_length=8, blank=True)
    ods_code = models.CharField("health ODS code", max_length=10, blank=True)
    is_active = models.BooleanField(default=True)
    # The group that per-record shares are granted to (django-guardian group permissions).
    group = models.OneToOneField(
        Group, on_delete=models.PROTECT, related_name="agency", null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "agencies"
        ordering = ("name",)
        constraints = [
            models.UniqueConstraint(fields=["local_authority", "name"], name="agency_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def cin_referral_source(self) -> str:
        return CIN_REFERRAL_SOURCE[AgencyKind(self.kind)]


class TeamKind(models.TextChoices):
    TRIAGE = "triage", "Front door / MASH triage"
    EMERGENCY_DUTY = "edt", "Emergency duty team (out of hours)"
    EARLY_HELP = "early_help", "Early help hub"
    OTHER = "other", "Other"


class Team(models.Model):
    """A queue inside an agency."""

    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="teams")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=TeamKind.choices, default=TeamKind.TRIAGE)
    email = models.EmailField(blank=True)

    class Meta:
        ordering = ("agency__name", "name")
        constraints = [
            models.UniqueConstraint(fields=["agency", "name"], name="team_name_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.agency.name}: {self.name}"


class Role(models.TextChoices):
    STAFF = "staff", "Staff"
    DSL = "dsl", "Designated safeguarding lead"
    DEPUTY_DSL = "deputy_dsl", "Deputy designated safeguarding lead"
    SOCIAL_WORKER = "social_worker", "Social worker"
    TEAM_MANAGER = "team_manager", "Team manager"
    SERVICE_MANAGER = "service_manager", "Service manager"
    PARTNER_VIEWER = "partner_viewer", "Partner viewer"
    AGENCY_ADMIN = "agency_admin", "Agency administrator"
    AGENCY_SYSTEM = "agency_system", "Agency system (API client)"


# Roles that review every concern their agency records and see its referrals.
SAFEGUARDING_LEAD_ROLES = (Role.DSL, Role.DEPUTY_DSL)
# Roles that work a team's queue.
TEAM_ROLES = (Role.SOCIAL_WORKER, Role.TEAM_MANAGER)
# Roles that see every referral their agency makes.
REFERRING_AGENCY_ROLES = (*SAFEGUARDING_LEAD_ROLES, Role.AGENCY_SYSTEM)
# Roles that see every referral their authority receives (when the agency is children's
# social care).
AUTHORITY_WIDE_ROLES = (Role.SERVICE_MANAGER, Role.AGENCY_SYSTEM)
# Roles through which a referral shared with the agency is seen (not every member of staff).
SHARE_RECIPIENT_ROLES = (
    Role.DSL,
    Role.DEPUTY_DSL,
    Role.PARTNER_VIEWER,
    Role.SOCIAL_WORKER,
    Role.TEAM_MANAGER,
    Role.SERVICE_MANAGER,
    Role.AGENCY_SYSTEM,
)


class Membership(models.Model):
    """A person's role in an agency, and for queue roles, in one of its teams."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="memberships")
    team = models.ForeignKey(
        Team,
        on_delete=models.CASCADE,
        related_name="memberships",
        null=True,
        blank=True,
    )
    role = models.CharField(max_length=32, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "agency", "role"],
                condition=Q(team__isnull=True),
                name="membership_unique_without_team",
            ),
            models.UniqueConstraint(
                fields=["user", "agency", "team", "role"],
                condition=Q(team__isnull=False),
                name="membership_unique_with_team",
            ),
        ]
        indexes = [models.Index(fields=["user", "role"], name="membership_user_role")]

    def __str__(self) -> str:
        where = self.team.name if self.team_id and self.team else self.agency.name
        return f"{self.user}: {self.get_role_display()} ({where})"


class RoutingRule(models.Model):
    """Which team receives a referral; the first matching rule by position wins."""

    class OutOfHours(models.TextChoices):
        ANY = "any", "Any time"
        IN_HOURS = "in_hours", "Within working hours"
        OUT_OF_HOURS = "out_of_hours", "Out of hours"

    local_authority = models.ForeignKey(
        LocalAuthority, on_delete=models.CASCADE, related_name="routing_rules"
    )
    position = models.PositiveIntegerField(default=100)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="routing_rules")
    urgency = models.CharField(
        max_length=16,
        choices=Urgency.choices,
        blank=True,
        help_text="Blank matches any urgency.",
    )
    category = models.CharField(
        max_length=16,
        choices=CinCategory.choices,
        blank=True,
        help_text="Blank matches any category of abuse.",
    )
    min_age = models.PositiveSmallIntegerField(null=True, blank=True)
    max_age = models.PositiveSmallIntegerField(null=True, blank=True)
    out_of_hours = models.CharField(
        max_length=16, choices=OutOfHours.choices, default=OutOfHours.ANY
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ("local_authority", "position", "id")
        constraints = [
            models.CheckConstraint(
                condition=Q(min_age__isnull=True)
                | Q(max_age__isnull=True)
                | Q(min_age__lte=models.F("max_age")),
                name="routing_rule_age_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.local_authority} #{self.position} -> {self.team.name}"


class UserSession(models.Model):
    """One signed-in session of a person: what they (and their agency admin) can see and end.

    Written at sign-in; `SessionEndedMiddleware` signs out any request whose row is ended or
    gone, so ending a session takes effect at the next request, whatever the session backend.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="signed_in_sessions")
    session_key = models.CharField(max_length=64, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(auto_now_add=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=200, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [
            models.Index(
                fields=["user"], condition=Q(ended_at__isnull=True), name="usersession_open"
            )
        ]

    def __str__(self) -> str:
        return f"Session #{self.pk} of user #{self.user_id}"
