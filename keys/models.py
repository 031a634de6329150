"""Data of the replica: accounts, IAM principals, KMS keys and what hangs off them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from keys import states

KEY_STATE_CHOICES = [(s, s) for s in states.ALL_STATES]
ORIGIN_CHOICES = [("AWS_KMS", "AWS_KMS"), ("EXTERNAL", "EXTERNAL")]
EXPIRATION_MODEL_CHOICES = [
    ("KEY_MATERIAL_EXPIRES", "KEY_MATERIAL_EXPIRES"),
    ("KEY_MATERIAL_DOES_NOT_EXPIRE", "KEY_MATERIAL_DOES_NOT_EXPIRE"),
]


class Account(models.Model):
    """An AWS account of the replica (a tenant: every query is scoped to one)."""

    id = models.CharField(primary_key=True, max_length=12)
    alias = models.CharField(max_length=63, blank=True, default="")
    # Made by the API's open mode (KMS_API_AUTH=open): POST /moto-api/reset clears its keys and aliases.
    open_mode = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(id__regex=r"^[0-9]{12}$"), name="account_id_12_digits"),
            models.UniqueConstraint(fields=["alias"], condition=~Q(alias=""), name="account_alias_unique"),
        ]

    def __str__(self) -> str:
        return self.id

    @property
    def root_arn(self) -> str:
        return f"arn:aws:iam::{self.id}:root"


class Principal(models.Model):
    """An IAM user or role (or the account root) that can act on keys."""

    USER, ROLE, ROOT = "user", "role", "root"
    KIND_CHOICES = [(USER, "IAM user"), (ROLE, "IAM role"), (ROOT, "Root user")]

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="principals")
    kind = models.CharField(max_length=4, choices=KIND_CHOICES)
    name = models.CharField(max_length=64)
    path = models.CharField(max_length=512, default="/")
    # Identity policies attached to the principal, as IAM policy documents.
    iam_policies = models.JSONField(default=list, blank=True)
    iam_policy_names = models.JSONField(default=list, blank=True)
    # Console sign-in for IAM users: a Django user carries the password hash and the session.
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="principal"
    )
    created = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "kind", "name"], name="principal_unique_name"),
        ]
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return self.arn

    @property
    def arn(self) -> str:
        if self.kind == self.ROOT:
            return f"arn:aws:iam::{self.account_id}:root"
        return f"arn:aws:iam::{self.account_id}:{self.kind}{self.path}{self.name}"


class AccessKey(models.Model):
    """An IAM user's access key pair for signing API requests (secret sealed at rest)."""

    ACTIVE, INACTIVE = "Active", "Inactive"
    principal = models.ForeignKey(Principal, on_delete=models.CASCADE, related_name="access_keys")
    access_key_id = models.CharField(max_length=20, unique=True)
    sealed_secret = models.BinaryField()
    status = models.CharField(max_length=8, choices=[(ACTIVE, ACTIVE), (INACTIVE, INACTIVE)], default=ACTIVE)
    created = models.DateTimeField()
    last_used = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created"]


class Key(models.Model):
    """A KMS key. Its material is sealed under the master key; plaintext never reaches the database."""

    key_id = models.CharField(primary_key=True, max_length=36)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="keys")
    region = models.CharField(max_length=32)
    description = models.TextField(blank=True, default="")
    key_usage = models.CharField(max_length=32, default="ENCRYPT_DECRYPT")
    key_spec = models.CharField(max_length=32, default="SYMMETRIC_DEFAULT")
    origin = models.CharField(max_length=16, choices=ORIGIN_CHOICES, default="AWS_KMS")
    key_manager = models.CharField(max_length=8, default="CUSTOMER")
    state = models.CharField(max_length=16, choices=KEY_STATE_CHOICES)
    creation_date = models.DateTimeField()
    deletion_date = models.DateTimeField(null=True, blank=True)
    pending_window_days = models.PositiveSmallIntegerField(null=True, blank=True)
    expiration_model = models.CharField(max_length=32, choices=EXPIRATION_MODEL_CHOICES, null=True, blank=True)
    valid_to = models.DateTimeField(null=True, blank=True)
    sealed_material = models.BinaryField(null=True, blank=True)
    # Keyed fingerprint of the first imported material: a reimport must match it.
    material_fingerprint = models.CharField(max_length=64, blank=True, default="")
    imported_at = models.DateTimeField(null=True, blank=True)
    rotation_enabled = models.BooleanField(default=False)
    policy = models.TextField()
    # The first of the key's aliases by name, kept by the alias services: the key list sorts and shows
    # it without a subquery per key (tens of thousands of keys stay fast).
    list_alias = models.CharField(max_length=256, null=True, blank=True)
    # The console wizard's draft token: a replayed Finish finds the key it already made.
    creation_token = models.CharField(max_length=64, null=True, blank=True)

    class Meta:
        ordering = ["creation_date", "key_id"]
        indexes = [
            models.Index(fields=["account", "region", "creation_date"], name="key_list_idx"),
            models.Index(fields=["account", "region", "list_alias"], name="key_list_alias_idx"),
            # ListKeys pages by key ID: with this index a page costs its length, not the account's key count.
            models.Index(fields=["account", "region", "key_id"], name="key_api_page_idx"),
            models.Index(fields=["valid_to"], name="key_valid_to_idx", condition=Q(sealed_material__isnull=False)),
            models.Index(fields=["deletion_date"], name="key_deletion_idx", condition=Q(state="PendingDeletion")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "creation_token"],
                condition=Q(creation_token__isnull=False),
                name="key_creation_token_unique",
            ),
            models.CheckConstraint(condition=Q(state__in=states.ALL_STATES), name="key_state_valid"),
            # Pending Import if and only if an External key has no material (Pending Deletion aside).
            models.CheckConstraint(
                condition=~Q(state=states.PENDING_IMPORT) | (Q(origin="EXTERNAL") & Q(sealed_material__isnull=True)),
                name="key_pending_import_means_no_material",
            ),
            models.CheckConstraint(
                condition=Q(sealed_material__isnull=False)
                | Q(state__in=[states.PENDING_IMPORT, states.PENDING_DELETION]),
                name="key_without_material_is_pending",
            ),
            models.CheckConstraint(
                condition=~Q(state=states.PENDING_DELETION) | Q(deletion_date__isnull=False),
                name="key_pending_deletion_has_date",
            ),
            models.CheckConstraint(
                condition=~Q(expiration_model="KEY_MATERIAL_EXPIRES") | Q(valid_to__isnull=False),
                name="key_expiring_material_has_valid_to",
            ),
        ]

    def __str__(self) -> str:
        return self.arn

    @property
    def arn(self) -> str:
        return f"arn:aws:kms:{self.region}:{self.account_id}:key/{self.key_id}"

    @property
    def is_external(self) -> bool:
        return self.origin == "EXTERNAL"

    @property
    def is_aws_managed(self) -> bool:
        return self.key_manager == "AWS"

    @property
    def has_material(self) -> bool:
        return self.sealed_material is not None


class Alias(models.Model):
    """An alias (alias/<name>) pointing at a key, unique per account and region."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="aliases")
    region = models.CharField(max_length=32)
    name = models.CharField(max_length=256)
    target_key = models.ForeignKey(Key, on_delete=models.CASCADE, related_name="aliases")
    creation_date = models.DateTimeField()
    last_updated_date = models.DateTimeField()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["account", "region", "name"], name="alias_unique_per_region"),
            models.CheckConstraint(condition=Q(name__startswith="alias/"), name="alias_prefix"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def arn(self) -> str:
        return f"arn:aws:kms:{self.region}:{self.account_id}:{self.name}"

    @property
    def display_name(self) -> str:
        """The name as the console shows it, without the alias/ prefix."""
        return self.name.removeprefix("alias/")


class Tag(models.Model):
    key = models.ForeignKey(Key, on_delete=models.CASCADE, related_name="tags")
    tag_key = models.CharField(max_length=128)
    tag_value = models.CharField(max_length=256, blank=True, default="")

    class Meta:
        ordering = ["tag_key"]
        constraints = [models.UniqueConstraint(fields=["key", "tag_key"], name="tag_key_unique_per_key")]


class ImportParameters(models.Model):
    """One GetParametersForImport answer: a wrapping key pair bound to one key for 24 hours."""

    id = models.CharField(primary_key=True, max_length=36)
    key = models.ForeignKey(Key, on_delete=models.CASCADE, related_name="import_parameters")
    wrapping_algorithm = models.CharField(max_length=32)
    wrapping_key_spec = models.CharField(max_length=16)
    public_key_der = models.BinaryField()
    sealed_private_key = models.BinaryField()
    created = models.DateTimeField()
    valid_to = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created"]


class WrappingKeyPair(models.Model):
    """A pre-generated RSA wrapping key pair (RSA_4096 takes about a second to make), taken once."""

    id = models.CharField(primary_key=True, max_length=36)
    wrapping_key_spec = models.CharField(max_length=16, db_index=True)
    public_key_der = models.BinaryField()
    sealed_private_key = models.BinaryField()
    created = models.DateTimeField()


class AuditEvent(models.Model):
    """One API call or service event, in the shape of a CloudTrail record."""

    event_id = models.CharField(primary_key=True, max_length=36)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="audit_events")
    event_time = models.DateTimeField()
    event_name = models.CharField(max_length=64)
    event_type = models.CharField(max_length=32, default="AwsApiCall")
    region = models.CharField(max_length=32)
    key_id = models.CharField(max_length=36, blank=True, default="")
    principal_arn = models.CharField(max_length=2048, blank=True, default="")
    error_code = models.CharField(max_length=64, blank=True, default="")
    # The full CloudTrail record (userIdentity, sourceIPAddress, userAgent, requestParameters, ...).
    record = models.JSONField()

    class Meta:
        ordering = ["-event_time"]
        indexes = [
            models.Index(fields=["account", "key_id", "event_time"], name="audit_key_idx"),
            models.Index(fields=["account", "event_time"], name="audit_account_idx"),
            # The Event history page always filters by Region (events are regional), and often by event name.
            models.Index(fields=["account", "region", "event_time"], name="audit_region_idx"),
            models.Index(fields=["account", "region", "event_name", "event_time"], name="audit_region_name_idx"),
            # A key's events in a Region (the Event history's Key ID filter, which SQLite would otherwise
            # serve from audit_region_idx, reading every event of the Region).
            models.Index(fields=["account", "region", "key_id", "event_time"], name="audit_region_key_idx"),
        ]


class ConsolePreferences(models.Model):
    """Per-user console settings, kept across sign-outs."""

    principal = models.OneToOneField(Principal, on_delete=models.CASCADE, related_name="console_preferences")
    key_list_columns = models.JSONField(default=list, blank=True)
    region = models.CharField(max_length=32, blank=True, default="")


class SignInAttempt(models.Model):
    """Failed console sign-ins, counted to throttle guessing (in the database, shared by all workers)."""

    username = models.CharField(max_length=200, db_index=True)
    source_ip = models.GenericIPAddressField(null=True)
    attempted_at = models.DateTimeField(db_index=True)
