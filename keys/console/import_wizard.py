"""The old console's "Import key material" wizard (spec 1.1.2, steps 2-4) and its ImportParameters.zip.

URLs (namespace "console"):
- import-key-material (region, key_id): the wizard; `?step=download|encrypt|upload` opens a step,
  so the key details page can link "Download wrapping key and import token" and "Upload key material".
- import-key-material-step (region, key_id, step): one step's page (download, encrypt, upload).
- download-import-parameters (region, key_id): POST, answers with ImportParameters.zip.

Hand-written rather than formtools' NamedUrlSessionWizardView: the steps are not one form cut in
three. The download is a POST that answers with a file and leaves the page where it is, the
encrypt step has no form, and the upload step must open on its own from the key details page.
Uploaded files cannot be kept in the session for the re-validation formtools does in done().
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import zipfile
from typing import Any

from django.contrib import messages
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from keys import clock, crypto, selectors, states
from keys.console.access import principal_required
from keys.console.actors import console_actor, error_status
from keys.console.import_forms import (
    DEFAULT_WRAPPING_ALGORITHM,
    DEFAULT_WRAPPING_KEY_SPEC,
    MAX_UPLOAD_BYTES,
    DownloadForm,
    LimitedUploadHandler,
    UploadForm,
)
from keys.console.key_list import key_list_url
from keys.errors import KmsError
from keys.models import ImportParameters, Key
from keys.regions import REGIONS
from keys.services import importing
from keys.services import keys as key_service
from keys.services.gate import state_refusal

STEPS = ("download", "encrypt", "upload")
STEP_TITLES = {
    "download": "Download wrapping key and import token",
    "encrypt": "Encrypt key material",
    "upload": "Upload key material",
}
# The spec's numbering: Step 1 is "Create a key with no key material", done by the Create key wizard.
STEP_NUMBERS = {"download": 2, "encrypt": 3, "upload": 4}
SESSION_KEY = "import_wizard"
SESSION_KEYS_KEPT = 20
PLAINTEXT_FILE = "PlaintextKeyMaterial.bin"
ENCRYPTED_FILE = "EncryptedKeyMaterial.bin"
STAMP_PLACEHOLDER = "MMDDhhmmss"
ZIP_NAME = "ImportParameters.zip"
REQUEST_REFUSED = (
    "The request was refused before anything was changed: it was larger than the console accepts "
    f"or malformed. Key material and import tokens are at most {MAX_UPLOAD_BYTES:,} bytes each."
)


# ---------------------------------------------------------------- what the wizard remembers


def _remembered(request: HttpRequest, key_id: str) -> dict[str, Any]:
    return request.session.get(SESSION_KEY, {}).get(key_id, {})


def _remember(request: HttpRequest, key_id: str, **values: Any) -> None:
    """Keep the chosen algorithm (and the names of the last download) per key, for the later steps."""
    wizard = dict(request.session.get(SESSION_KEY, {}))
    entry = {**wizard.pop(key_id, {}), **values}
    wizard[key_id] = entry
    while len(wizard) > SESSION_KEYS_KEPT:
        wizard.pop(next(iter(wizard)))
    request.session[SESSION_KEY] = wizard


def _forget(request: HttpRequest, key_id: str) -> None:
    wizard = dict(request.session.get(SESSION_KEY, {}))
    if wizard.pop(key_id, None) is not None:
        request.session[SESSION_KEY] = wizard


# ---------------------------------------------------------------- file names and help text


def stamp(when: dt.datetime) -> str:
    """The download's time stamp: the creation time in UTC as MMDDhhmmss (like 0809092909)."""
    return when.astimezone(dt.UTC).strftime("%m%d%H%M%S")


def file_names(key_id: str, stamp_text: str) -> dict[str, str]:
    return {
        "wrapping_key": f"wrappingKey_{key_id}_{stamp_text}",
        "import_token": f"importToken_{key_id}_{stamp_text}",
        "readme": f"README_{key_id}_{stamp_text}.txt",
    }


def openssl_commands(algorithm: str, wrapping_key_file: str) -> list[str]:
    """Generate 256-bit material, then wrap it as the algorithm needs (keys.crypto.OPENSSL_COMMANDS)."""
    return [
        crypto.OPENSSL_GENERATE_MATERIAL.format(plaintext=PLAINTEXT_FILE),
        *crypto.render_openssl_commands(
            algorithm, public_key=wrapping_key_file, plaintext=PLAINTEXT_FILE, output=ENCRYPTED_FILE
        ),
    ]


def readme_text(params: ImportParameters, names: dict[str, str]) -> str:
    """The README of ImportParameters.zip: what the files are, which algorithm, when they expire."""
    expires = params.valid_to.astimezone(dt.UTC).isoformat()
    commands = "\n".join(f"    {line}" for line in openssl_commands(params.wrapping_algorithm, names["wrapping_key"]))
    return (
        "Import key material: wrapping key and import token\n"
        "\n"
        f"Key ARN: {params.key.arn}\n"
        f"Wrapping algorithm: {params.wrapping_algorithm}\n"
        f"Wrapping key spec: {params.wrapping_key_spec}\n"
        f"Wrapping key (public key): {names['wrapping_key']} (DER-encoded X.509 SubjectPublicKeyInfo)\n"
        f"Import token: {names['import_token']}\n"
        f"Created (UTC): {params.created.astimezone(dt.UTC).isoformat()}\n"
        f"The wrapping key and import token expire at (UTC): {expires}\n"
        "They are valid for 24 hours and must be used together. After they expire, download new ones.\n"
        "\n"
        f"Encrypt 256-bit key material with OpenSSL and the {params.wrapping_algorithm} wrapping algorithm:\n"
        "\n"
        f"{commands}\n"
        "\n"
        f"Then upload {ENCRYPTED_FILE} as the encrypted key material and\n"
        f"{names['import_token']} as the import token.\n"
        "Keep PlaintextKeyMaterial.bin safe and secret: a reimport into this key needs exactly the same\n"
        "key material.\n"
    )


def parameters_zip(params: ImportParameters, token: bytes) -> tuple[bytes, dict[str, str]]:
    names = file_names(params.key_id, stamp(params.created))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(names["wrapping_key"], bytes(params.public_key_der))
        archive.writestr(names["import_token"], token)
        archive.writestr(names["readme"], readme_text(params, names))
    return buffer.getvalue(), names


# ---------------------------------------------------------------- request plumbing


def _parse_body_first(view):
    """Refuse an unknown region (404), then parse the body with the size-limited upload handler before the CSRF check.

    The handler must be in place before anything touches request.POST, and CsrfViewMiddleware does
    in process_view: hence csrf_exempt outside and csrf_protect inside. A body Django refuses
    (a huge form field, too many parts) becomes the step's page with a message and status 400.
    """
    protected = csrf_protect(view)

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        _check_region(kwargs["region"])
        request.too_large = {}
        if request.method == "POST":
            handler = LimitedUploadHandler(request)
            request.upload_handlers = [handler]
            try:
                request.POST  # noqa: B018 - parse now, with our handler
                request.FILES  # noqa: B018
            except (SuspiciousOperation, MultiPartParserError, UnreadablePostError):
                step = kwargs.get("step") if kwargs.get("step") in STEPS else "download"
                return _render_step(
                    request, kwargs["region"], kwargs["key_id"], step, request_error=REQUEST_REFUSED, status=400
                )
            request.too_large = handler.too_large
        return protected(request, *args, **kwargs)

    return csrf_exempt(wrapper)


def _check_region(region: str) -> None:
    if region not in REGIONS:
        raise Http404("Unknown region")


def _step_url(region: str, key_id: str, step: str) -> str:
    return reverse("console:import-key-material-step", kwargs={"region": region, "key_id": key_id, "step": step})


def _alias_of(key: Key) -> str:
    aliases = selectors.key_aliases(key)
    return aliases[0].display_name if aliases else ""


def _render_step(
    request: HttpRequest,
    region: str,
    key_id: str,
    step: str,
    *,
    form: Any = None,
    error: KmsError | None = None,
    request_error: str = "",
    status: int = 200,
) -> HttpResponse:
    """One step's page; if the key cannot be shown, the page says why (NotFound, AccessDenied)."""
    context: dict[str, Any] = {
        "nav": "encryption-keys",
        "region": region,
        "region_name": REGIONS[region],
        "key_id": key_id,
        "step": {"slug": step, "title": STEP_TITLES[step], "number": STEP_NUMBERS[step]},
        "steps": [
            {"number": 1, "title": "Create key with no key material", "done": True},
            *(
                {
                    "number": STEP_NUMBERS[s],
                    "slug": s,
                    "title": STEP_TITLES[s],
                    "url": _step_url(region, key_id, s),
                    "current": s == step,
                }
                for s in STEPS
            ),
        ],
        "error": error,
        "request_error": request_error,
        "list_url": key_list_url(region),
        "max_upload_bytes": MAX_UPLOAD_BYTES,
    }
    try:
        key = key_service.get_key(console_actor(request, region), key_id=key_id)
    except KmsError as exc:
        context.update(key=None, error=error or exc, blocked=None)
        if status == 200:
            status = error_status(exc)
        return render(request, f"keys/import/{step}.html", context, status=status)
    remembered = _remembered(request, key.key_id)
    algorithm = remembered.get("algorithm")
    if algorithm not in crypto.WRAPPING_ALGORITHMS:
        algorithm = None
    names = file_names(key.key_id, remembered.get("stamp") or STAMP_PLACEHOLDER)
    blocked = state_refusal(key, "GetParametersForImport" if step == "download" else "ImportKeyMaterial")
    if error and blocked and (error.code, error.message) == (blocked.code, blocked.message):
        context["error"] = None  # said once, by the blocked notice
    context.update(
        key=key,
        alias=_alias_of(key),
        state_display=states.DISPLAY[key.state],
        state_class=states.STATUS_CLASS[key.state],
        blocked=blocked,
        remembered=remembered,
        names=names,
        downloaded=bool(remembered.get("stamp")),
    )
    if step == "download":
        context["form"] = form or DownloadForm(
            initial={
                "wrapping_algorithm": algorithm or DEFAULT_WRAPPING_ALGORITHM,
                "wrapping_key_spec": remembered.get("spec") or DEFAULT_WRAPPING_KEY_SPEC,
            }
        )
    elif step == "encrypt":
        shown = algorithm or DEFAULT_WRAPPING_ALGORITHM
        context.update(
            algorithm=shown,
            algorithm_known=algorithm is not None,
            algorithms=crypto.WRAPPING_ALGORITHMS,
            # Word by word, so a long command wraps only at spaces (never after the "-" of an option).
            command_words=[line.split(" ") for line in openssl_commands(shown, names["wrapping_key"])],
            plaintext_file=PLAINTEXT_FILE,
            encrypted_file=ENCRYPTED_FILE,
            aes_wrap=shown.startswith("RSA_AES_KEY_WRAP"),
        )
    else:
        context["form"] = form or UploadForm()
        context["today"] = clock.now().date().isoformat()
    return render(request, f"keys/import/{step}.html", context, status=status)


# ---------------------------------------------------------------- views


@never_cache
@principal_required
def import_key_material(request: HttpRequest, region: str, key_id: str) -> HttpResponse:
    """The wizard's entry: ?step=download|encrypt|upload, the download step by default."""
    _check_region(region)
    step = request.GET.get("step")
    return redirect(_step_url(region, key_id, step if step in STEPS else STEPS[0]))


@never_cache
@principal_required
@_parse_body_first
def import_key_material_step(request: HttpRequest, region: str, key_id: str, step: str) -> HttpResponse:
    if step not in STEPS:
        raise Http404("Unknown step")
    if request.method in ("GET", "HEAD"):
        return _render_step(request, region, key_id, step)
    if request.method != "POST" or step == "encrypt":
        return HttpResponseNotAllowed(["GET"] if step == "encrypt" else ["GET", "POST"])
    if step == "download":
        return _next_from_download(request, region, key_id)
    return _finish(request, region, key_id)


def _next_from_download(request: HttpRequest, region: str, key_id: str) -> HttpResponse:
    """Next: only with "I am ready to upload my exported key material" ticked."""
    form = DownloadForm(request.POST)
    if not (form.is_valid() and form.require_ready()):
        return _render_step(request, region, key_id, "download", form=form, status=400)
    chosen = form.cleaned_data["wrapping_algorithm"]
    earlier = _remembered(request, key_id)
    # The file names of a download made with another algorithm would pair with the wrong commands.
    kept_stamp = earlier.get("stamp", "") if earlier.get("algorithm") == chosen else ""
    _remember(request, key_id, algorithm=chosen, spec=form.cleaned_data["wrapping_key_spec"], stamp=kept_stamp)
    return redirect(_step_url(region, key_id, "encrypt"))


def _finish(request: HttpRequest, region: str, key_id: str) -> HttpResponse:
    """Finish: ImportKeyMaterial with the two files and the expiration option; the key becomes Enabled."""
    form = UploadForm(request.POST, request.FILES, too_large=request.too_large)
    if not form.is_valid():
        return _render_step(request, region, key_id, "upload", form=form, status=400)
    try:
        key = importing.import_key_material(console_actor(request, region), key_id=key_id, **form.import_arguments())
    except KmsError as exc:
        return _render_step(request, region, key_id, "upload", form=form, error=exc, status=400)
    _forget(request, key.key_id)
    name = _alias_of(key) or key.key_id
    if key.valid_to and key.expiration_model == importing.EXPIRES:
        until = key.valid_to.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        detail = f" The key material expires on {until}."
    else:
        detail = " The key material does not expire."
    messages.success(request, f"Key material imported. {name} is now {states.DISPLAY[key.state]}.{detail}")
    return redirect(key_list_url(region))


@never_cache
@principal_required
@_parse_body_first
def download_import_parameters(request: HttpRequest, region: str, key_id: str) -> HttpResponse:
    """POST: GetParametersForImport, answered as ImportParameters.zip (or the step with the refusal)."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = DownloadForm(request.POST)
    if not form.is_valid():
        return _render_step(request, region, key_id, "download", form=form, status=400)
    try:
        params = importing.get_parameters_for_import(
            console_actor(request, region),
            key_id=key_id,
            wrapping_algorithm=form.cleaned_data["wrapping_algorithm"],
            wrapping_key_spec=form.cleaned_data["wrapping_key_spec"],
        )
    except KmsError as exc:
        return _render_step(request, region, key_id, "download", form=form, error=exc, status=400)
    body, names = parameters_zip(params, importing.import_token(params))
    _remember(
        request,
        params.key_id,
        algorithm=params.wrapping_algorithm,
        spec=params.wrapping_key_spec,
        stamp=stamp(params.created),
    )
    response = HttpResponse(body, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{ZIP_NAME}"'
    response["Content-Length"] = str(len(body))
    return response


urlpatterns = [
    path(
        "iam/encryption-keys/<str:region>/<str:key_id>/import/",
        import_key_material,
        name="import-key-material",
    ),
    path(
        "iam/encryption-keys/<str:region>/<str:key_id>/import/parameters/",
        download_import_parameters,
        name="download-import-parameters",
    ),
    path(
        "iam/encryption-keys/<str:region>/<str:key_id>/import/<str:step>/",
        import_key_material_step,
        name="import-key-material-step",
    ),
]
