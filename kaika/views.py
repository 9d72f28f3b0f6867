from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from kaika.cache import public_page


@public_page(max_age=60)
def home(request):
    return render(request, "home.html")


@never_cache
def health(request):
    """For load balancers: the app answers and its database does."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
