"""The pagination of every list endpoint: `page` and `page_size` are validated, never silently replaced."""

from django import forms
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination

from apps.core.fields import PG_INT_MAX


def _query_int(request, name: str, *, min_value: int, max_value: int) -> int | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    try:
        return forms.IntegerField(min_value=min_value, max_value=max_value).clean(raw)
    except DjangoValidationError as exc:
        raise ValidationError({name: exc.messages})


class DefaultPagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500
    # A page past the last one is a 404 (DRF's "Invalid page"); a number no page can have is a 400.
    max_page = PG_INT_MAX

    def get_page_size(self, request):
        page_size = _query_int(request, self.page_size_query_param, min_value=1, max_value=self.max_page_size)
        return self.page_size if page_size is None else page_size

    def get_page_number(self, request, paginator):
        if request.query_params.get(self.page_query_param) in self.last_page_strings:
            return paginator.num_pages
        page = _query_int(request, self.page_query_param, min_value=1, max_value=self.max_page)
        return 1 if page is None else page

    def get_schema_operation_parameters(self, view):
        bounds = {self.page_query_param: (1, self.max_page), self.page_size_query_param: (1, self.max_page_size)}
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            minimum, maximum = bounds[parameter["name"]]
            parameter["schema"] = {"type": "integer", "minimum": minimum, "maximum": maximum}
        return parameters
