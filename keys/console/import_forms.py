"""Forms of the Import key material wizard: they parse what was typed; the service judges it."""

from __future__ import annotations

import datetime as dt
import io

from django import forms
from django.core.files.uploadedfile import InMemoryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopFutureHandlers

from keys import crypto
from keys.services import importing

WRAPPING_ALGORITHM_CHOICES = [(a, a) for a in crypto.WRAPPING_ALGORITHMS]
WRAPPING_KEY_SPEC_CHOICES = [(s, s) for s in crypto.WRAPPING_KEY_SPECS]
# Preselected on the download step (and assumed by the encrypt step's commands until a download says otherwise).
DEFAULT_WRAPPING_ALGORITHM = "RSAES_OAEP_SHA_256"
DEFAULT_WRAPPING_KEY_SPEC = "RSA_2048"
NEVER, EXPIRES = "never", "expires"
EXPIRATION_CHOICES = [(NEVER, "Key material never expires"), (EXPIRES, "Key material expires")]
# The largest file the console reads into memory: the service's own limit for both blobs.
MAX_UPLOAD_BYTES = importing.MAX_BLOB_BYTES


class DownloadForm(forms.Form):
    """Step 2: which wrapping algorithm and key spec.

    CharFields, not ChoiceFields: a crafted value (RSAES_PKCS1_V1_5) reaches the service, which
    refuses it in AWS's words; the rule lives there once.
    """

    wrapping_algorithm = forms.CharField(
        label="Select wrapping algorithm",
        widget=forms.RadioSelect(choices=WRAPPING_ALGORITHM_CHOICES),
        initial=DEFAULT_WRAPPING_ALGORITHM,
        max_length=64,
        error_messages={"required": "Select a wrapping algorithm."},
    )
    wrapping_key_spec = forms.CharField(
        label="Select wrapping key spec",
        widget=forms.RadioSelect(choices=WRAPPING_KEY_SPEC_CHOICES),
        initial=DEFAULT_WRAPPING_KEY_SPEC,
        max_length=64,
        error_messages={"required": "Select a wrapping key spec."},
    )
    ready = forms.BooleanField(
        label="I am ready to upload my exported key material",
        required=False,
    )

    error_messages = {
        "not_ready": "Select the check box for I am ready to upload my exported key material, then choose Next.",
    }

    def require_ready(self) -> bool:
        """Next needs the check box; Download does not."""
        if not self.cleaned_data.get("ready"):
            self.add_error("ready", forms.ValidationError(self.error_messages["not_ready"], code="not_ready"))
            return False
        return True


class UploadForm(forms.Form):
    """Step 4: the two files and the expiration option, parsed into what ImportKeyMaterial takes."""

    encrypted_key_material = forms.FileField(
        label="Encrypted key material",
        allow_empty_file=True,
        error_messages={"required": "Choose the file that contains your encrypted key material."},
    )
    import_token = forms.FileField(
        label="Import token",
        allow_empty_file=True,
        error_messages={"required": "Choose the file that contains the import token that you downloaded."},
    )
    expiration = forms.ChoiceField(
        label="Choose an expiration option",
        choices=EXPIRATION_CHOICES,
        widget=forms.RadioSelect,
        initial=NEVER,
        error_messages={"required": "Choose an expiration option.", "invalid_choice": "Choose an expiration option."},
    )
    expiration_date = forms.DateField(
        label="Expiration date (UTC)",
        required=False,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date", "aria-describedby": "when-hint"}, format="%Y-%m-%d"),
        error_messages={"invalid": "Enter the date as YYYY-MM-DD."},
    )
    expiration_time = forms.TimeField(
        label="Expiration time (UTC)",
        required=False,
        initial="00:00",
        input_formats=["%H:%M", "%H:%M:%S"],
        widget=forms.TimeInput(attrs={"type": "time", "aria-describedby": "when-hint"}, format="%H:%M"),
        error_messages={"invalid": "Enter the time as hh:mm (24-hour clock, UTC)."},
    )

    def __init__(self, *args, too_large: dict[str, int] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.too_large = too_large or {}

    def clean(self):
        cleaned = super().clean()
        for name, size in self.too_large.items():
            label = self.fields[name].label
            self.add_error(
                name,
                forms.ValidationError(
                    f"{label}: the file is {size:,} bytes, larger than the {MAX_UPLOAD_BYTES:,}-byte limit. "
                    "Choose the file that the wrapping step produced.",
                    code="too_large",
                ),
            )
        return cleaned

    def import_arguments(self) -> dict:
        """The keyword arguments of services.importing.import_key_material (after is_valid())."""
        data = self.cleaned_data
        if data["expiration"] == NEVER:
            model, valid_to = importing.DOES_NOT_EXPIRE, None
        else:
            model, valid_to = importing.EXPIRES, None
            if data.get("expiration_date"):
                time = data.get("expiration_time") or dt.time(0, 0)
                valid_to = dt.datetime.combine(data["expiration_date"], time, tzinfo=dt.UTC)
        return {
            "import_token": _read(data["import_token"]),
            "encrypted_key_material": _read(data["encrypted_key_material"]),
            "expiration_model": model,
            "valid_to": valid_to,
        }


def _read(upload) -> bytes:
    upload.seek(0)
    return upload.read()


class LimitedUploadHandler(FileUploadHandler):
    """Keep uploaded files in memory up to MAX_UPLOAD_BYTES; count and drop anything larger.

    A 5 MB file is read off the socket (so the browser gets an answer, not a reset) but never
    stored: the form then says how large it was. It replaces Django's handlers for these views.
    """

    def __init__(self, request=None, limit: int = MAX_UPLOAD_BYTES):
        super().__init__(request)
        self.limit = limit
        self.too_large: dict[str, int] = {}

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.buffer = bytearray()
        self.size = 0
        raise StopFutureHandlers()

    def receive_data_chunk(self, raw_data, start):
        self.size += len(raw_data)
        if self.size <= self.limit:
            self.buffer.extend(raw_data)
        else:
            self.buffer = bytearray()
        return None

    def file_complete(self, file_size):
        if self.size > self.limit:
            self.too_large[self.field_name] = self.size
            return None
        return InMemoryUploadedFile(
            file=io.BytesIO(bytes(self.buffer)),
            field_name=self.field_name,
            name=self.file_name,
            content_type=self.content_type,
            size=self.size,
            charset=self.charset,
            content_type_extra=self.content_type_extra,
        )
