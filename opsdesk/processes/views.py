from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from opsdesk.core.permissions import staff_required


@staff_required
def my_work(request: HttpRequest) -> HttpResponse:
    return render(request, "processes/my_work.html", {})
