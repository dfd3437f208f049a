"""Import and export on the cedula changelist.

The screens, buttons and permissions are django-import-export's (with Unfold's forms); the
rows do not go through its row-by-row resource pipeline (minutes for 100,000 rows, see bench/import_bench.py) but
through services.cedula_import_rows, which compares with the table in one query and inserts in one statement. The file
is parsed once, at preview; the reading is kept on the server (services.import_previews) for the confirm step, which
writes, once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import structlog
from django import forms
from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.views.decorators.http import require_POST
from import_export import resources
from import_export.admin import ImportExportMixin
from import_export.formats.base_formats import CSV, XLSX
from import_export.forms import ConfirmImportForm
from import_export.signals import post_import
from unfold.contrib.import_export.forms import ExportForm, ImportForm
from unfold.widgets import UnfoldBooleanWidget

from cedula import permissions, services
from cedula.admin.exports import CSV_ENCODING, EXPORT_FORMATS, SpanishExportMixin
from cedula.admin.permissions import ExportPermissionMixin
from cedula.importing import (
    ImportFileError,
    ParsedFile,
    clean_file_name,
    read_table,
    rejected_rows_csv,
)
from cedula.models import CedulaInfo, ImportBatch
from cedula.registry.parser import RESULT_FIELDS
from cedula.request_audit import audit_request
from ops.net import client_ip
from ops.uploads import REFUSED_ATTR

if TYPE_CHECKING:
    from ops.accounts.models import User

logger = structlog.get_logger(__name__)

REJECTED_CSV_TTL_S = 7 * 24 * 3600
PREVIEW_INVALID_ROWS = 50

EXPORT_FIELDS = (
    "cedula",
    "status",
    *RESULT_FIELDS,
    "last_checked",
    "check_count",
    "error_kind",
    "last_error",
    "source",
    "priority",
    "import_batch",
    "created_at",
    "updated_at",
)

IMPORT_FILE_HELP = "Una columna «cédula» (o «documento», «nuip»); las demás columnas se ignoran."
REQUEUE_HELP = "Sin marcar, las cédulas que ya están en la consola se dejan como están."
SKIP_INVALID_HELP = (
    "Sin marcar, una sola fila inválida detiene todo el archivo y no se importa nada. Marcada, se importan las "
    "válidas y las rechazadas se ofrecen en un CSV para corregirlas."
)


class CedulaImportResource(resources.ModelResource):
    """Announces the column on the import screen; the rows themselves go through services.cedula_import_rows."""

    class Meta:
        model = CedulaInfo
        fields = ("cedula",)
        import_id_fields = ("cedula",)


class CedulaExportResource(SpanishExportMixin, resources.ModelResource):
    class Meta:
        model = CedulaInfo
        fields = EXPORT_FIELDS
        export_order = EXPORT_FIELDS

    def dehydrate_status(self, obj: CedulaInfo) -> str:
        return obj.get_status_display()

    def dehydrate_error_kind(self, obj: CedulaInfo) -> str:
        return obj.get_error_kind_display() if obj.error_kind else ""

    def dehydrate_source(self, obj: CedulaInfo) -> str:
        return obj.get_source_display()

    def dehydrate_priority(self, obj: CedulaInfo) -> str:
        return obj.get_priority_display()


class CedulaImportForm(ImportForm):
    requeue_existing = forms.BooleanField(
        label="Reencolar las cédulas ya conocidas", required=False, widget=UnfoldBooleanWidget, help_text=REQUEUE_HELP
    )
    skip_invalid = forms.BooleanField(
        label="Importar solo las filas válidas", required=False, widget=UnfoldBooleanWidget, help_text=SKIP_INVALID_HELP
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The format is read from the content (CSV or XLSX, encoding, delimiter): nothing to choose.
        del self.fields["format"]
        self.fields["import_file"].label = "Archivo CSV o XLSX"
        self.fields["import_file"].help_text = IMPORT_FILE_HELP


class CedulaConfirmImportForm(ConfirmImportForm):
    format = forms.CharField(widget=forms.HiddenInput, required=False)
    requeue_existing = forms.BooleanField(
        label="Reencolar las cédulas ya conocidas", required=False, widget=UnfoldBooleanWidget, help_text=REQUEUE_HELP
    )
    skip_invalid = forms.BooleanField(
        label="Importar solo las filas válidas", required=False, widget=UnfoldBooleanWidget, help_text=SKIP_INVALID_HELP
    )


def _describe(parsed: ParsedFile, report: services.ImportReport) -> str:
    if parsed.kind == "xlsx":
        shape = f"XLSX, hoja «{parsed.sheet}»"
    else:
        separator = {"\t": "tabulador", ";": "punto y coma", ",": "coma"}.get(parsed.delimiter, parsed.delimiter)
        shape = f"CSV ({parsed.encoding}, separado por {separator})"
    return f"«{report.file_name}»: {shape}, columna «{parsed.column}». Las demás columnas se ignoran."


# The confirm form carries only the preview's random key (services.import_previews): the file name and the reading of
# the file stay on the server, so a forged or edited hidden field can name neither a path nor a header.


def _invalid_rows(count: int) -> str:
    return "1 fila inválida" if count == 1 else f"{count} filas inválidas"


def _rejected_key(batch_id: int) -> str:
    return f"cedula-import-rejected:{batch_id}"


class CedulaImportExportMixin(ExportPermissionMixin, ImportExportMixin):
    """Mixed into CedulaInfoAdmin (before unfold's ModelAdmin)."""

    import_form_class = CedulaImportForm
    confirm_form_class = CedulaConfirmImportForm
    export_form_class = ExportForm
    import_formats = [CSV, XLSX]
    export_formats = EXPORT_FORMATS
    to_encoding = CSV_ENCODING
    import_template_name = "admin/cedula/cedulainfo/import.html"
    to_encoding = "utf-8-sig"  # Excel reads a CSV without BOM as ANSI and garbles the accents
    skip_admin_log = True  # one LogEntry per row would be 100,000 rows; the ImportBatch is the record

    def has_import_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(permissions.IMPORT)

    def get_import_resource_classes(self, request: HttpRequest) -> list[type[resources.ModelResource]]:
        return [CedulaImportResource]

    def get_export_resource_classes(self, request: HttpRequest) -> list[type[resources.ModelResource]]:
        return [CedulaExportResource]

    def get_data_for_export(self, request: HttpRequest, queryset: Any, **kwargs: Any) -> Any:
        data = super().get_data_for_export(request, queryset, **kwargs)
        # The whole filter is exported: the record keeps the filter and the row count, not the rows.
        audit_request(request, action="cedula.export", target=queryset, count=len(data),
                     filter_query=request.GET, cedula_ids=())  # fmt: skip
        return data

    def get_urls(self) -> list:
        rejected = path(
            "import/rejected/<int:batch_id>/",
            self.admin_site.admin_view(self.rejected_rows_view),
            name=self._url_name("import_rejected"),
        )
        return [rejected, *super().get_urls()]

    def get_confirm_form_initial(self, request: HttpRequest, import_form: Any) -> dict[str, Any]:
        if import_form is None:
            return {}
        upload = import_form.cleaned_data["import_file"]
        return {
            "import_file_name": upload.preview_key,
            "original_file_name": clean_file_name(upload.name),  # shown only; the confirm step reads the server's
            "resource": import_form.cleaned_data.get("resource", ""),
            "requeue_existing": import_form.cleaned_data["requeue_existing"],
            "skip_invalid": import_form.cleaned_data["skip_invalid"],
        }

    def _url_name(self, view: str) -> str:
        app_label, model_name = self.get_model_info()
        return f"{app_label}_{model_name}_{view}"

    # --- step 1: upload and preview ------------------------------------------------------------------------------

    def import_action(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        if not self.has_import_permission(request):
            raise PermissionDenied
        form = self.create_import_form(request)
        refused = getattr(request, REFUSED_ATTR, "")
        if refused:  # the upload handler stopped reading the body: say why, not "this field is required"
            form.is_valid()
            form.errors["import_file"] = form.error_class([refused])
            return self._import_page(request, form=form)
        if request.method != "POST" or not form.is_valid():
            return self._import_page(request, form=form)
        upload = form.cleaned_data["import_file"]
        file_name = clean_file_name(upload.name)
        try:
            # Django spooled the upload to disk in chunks; the reader reads it from there in chunks too.
            parsed = read_table(upload.file, upload.name)
        except ImportFileError as exc:
            form.add_error("import_file", str(exc))
            logger.info("import_file_rejected", file_name=file_name, size=upload.size)
            return self._import_page(request, form=form)
        preview = services.import_preview_create(parsed=parsed, file_name=file_name, user=cast("User", request.user))
        upload.preview_key = preview.key
        report = services.cedula_import_preview(
            rows=parsed.rows,
            file_name=preview.file_name,
            requeue_existing=form.cleaned_data["requeue_existing"],
            skip_invalid=form.cleaned_data["skip_invalid"],
        )
        confirm_form = self.create_confirm_form(request, import_form=form)
        return self._import_page(request, form=form, confirm_form=confirm_form, report=report, parsed=parsed)

    # --- step 2: confirm --------------------------------------------------------------------------------------------

    @method_decorator(require_POST)
    def process_import(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        if not self.has_import_permission(request):
            raise PermissionDenied
        import_url = reverse(f"admin:{self._url_name('import')}", current_app=self.admin_site.name)
        changelist = reverse(f"admin:{self._url_name('changelist')}", current_app=self.admin_site.name)
        confirm_form = self.create_confirm_form(request)
        if not confirm_form.is_valid():
            messages.error(request, "La confirmación llegó incompleta: suba el archivo de nuevo.")
            return HttpResponseRedirect(import_url)
        cleaned = confirm_form.cleaned_data
        outcome = services.import_preview_confirm(
            key=cleaned["import_file_name"],
            user=cast("User", request.user),  # the admin site lets only staff in
            requeue_existing=cleaned["requeue_existing"],
            skip_invalid=cleaned["skip_invalid"],
        )
        if outcome.status == "missing":
            messages.error(request, "El archivo subido ya no está disponible: súbalo de nuevo.")
            return HttpResponseRedirect(import_url)
        if outcome.status == "already":
            messages.warning(
                request, f"La importación de «{outcome.file_name}» ya se había confirmado: no se importó de nuevo."
            )
            if outcome.batch_id is None:
                return HttpResponseRedirect(import_url)
            return HttpResponseRedirect(f"{changelist}?import_batch__id__exact={outcome.batch_id}")
        report, parsed = outcome.report, outcome.parsed
        assert report is not None and parsed is not None  # imported or blocked: both carry them
        services.cedula_import_audit(
            report=report,
            file_name=outcome.file_name,
            actor=cast("User", request.user),
            ip=client_ip(request),
            via="consola",
        )
        if report.blocked:
            messages.error(
                request,
                f"No se importó nada: el archivo tiene {_invalid_rows(report.invalid)}. Corríjalas, o marque "
                "«Importar solo las filas válidas».",
            )
            form = self.create_import_form(request)
            return self._import_page(request, form=form, confirm_form=confirm_form, report=report, parsed=parsed)
        post_import.send(sender=None, model=self.model)
        self._announce(request, report)
        return HttpResponseRedirect(f"{changelist}?import_batch__id__exact={report.batch_id}")

    def _announce(self, request: HttpRequest, report: services.ImportReport) -> None:
        text = (
            f"Importación de «{report.file_name}»: {report.new} nuevas en cola, {report.existing} ya conocidas"
            f" ({report.requeued} reencoladas), {report.duplicates} duplicadas en el archivo, "
            f"{report.invalid} inválidas."
        )
        if report.batch_id is not None:
            batch_url = reverse("admin:cedula_importbatch_change", args=[report.batch_id])
            messages.success(
                request,
                format_html(
                    '{} <a class="underline" href="{}" data-testid="import-batch-link">Ver el avance del lote y su '
                    "hora estimada de fin</a>.",
                    text,
                    batch_url,
                ),
            )
        else:
            messages.success(request, text)
        if report.invalid_rows and report.batch_id is not None:
            cache.set(_rejected_key(report.batch_id), rejected_rows_csv(report.invalid_rows), REJECTED_CSV_TTL_S)
            url = reverse(
                f"admin:{self._url_name('import_rejected')}",
                args=[report.batch_id],
                current_app=self.admin_site.name,
            )
            messages.warning(
                request,
                format_html(
                    '{}: <a class="underline" href="{}">descargar el CSV</a>.',
                    ("1 fila rechazada" if report.invalid == 1 else f"{report.invalid} filas rechazadas")
                    + (
                        f" (el CSV lista las primeras {len(report.invalid_rows)})"
                        if report.invalid > len(report.invalid_rows)
                        else ""
                    ),
                    url,
                ),
            )

    def rejected_rows_view(self, request: HttpRequest, batch_id: int) -> HttpResponse:
        if not self.has_import_permission(request):
            raise PermissionDenied
        data = cache.get(_rejected_key(batch_id))
        if data is None:
            raise Http404("El CSV de filas rechazadas ya no está disponible.")
        audit_request(
            request,
            action="cedula.import_rejected_download",
            target=ImportBatch.objects.filter(pk=batch_id).first(),
        )
        response = HttpResponse(data, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="rechazadas-importacion-{batch_id}.csv"'
        return response

    def _import_page(
        self,
        request: HttpRequest,
        *,
        form: Any,
        confirm_form: Any = None,
        report: services.ImportReport | None = None,
        parsed: ParsedFile | None = None,
    ) -> TemplateResponse:
        context = self.get_import_context_data()
        context.update(self.admin_site.each_context(request))
        context.update(
            {
                "title": "Importar cédulas",
                "form": form,
                "confirm_form": confirm_form,
                "report": report,
                "parsed": parsed,
                "detected": _describe(parsed, report) if parsed and report else "",
                "invalid_preview": report.invalid_rows[:PREVIEW_INVALID_ROWS] if report else (),
                "opts": self.model._meta,
                "media": self.media + form.media,
                "fields_list": [("Cédulas", ["cédula (también «documento» o «nuip»)"])],
                "import_error_display": self.import_error_display,
            }
        )
        request.current_app = self.admin_site.name
        return TemplateResponse(request, [self.import_template_name], context)
