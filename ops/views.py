from django.core.cache import cache
from django.http import HttpResponseBadRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ops.exposure import client_ip
from ops.tripwire import tripwire_report_record

REPORTS_PER_IP = (20, 600)


@csrf_exempt  # sent from a page that may carry someone else's CSRF token; it only records
@never_cache
@require_POST
def tripwire_report(request):
    path, seen, own = (request.POST.get(k, "") for k in ("path", "seen", "own"))
    # `own` is empty when the browser had no cookie to compare: one that never signed in.
    if not (path and seen):
        return HttpResponseBadRequest()
    limit, window = REPORTS_PER_IP
    key = f"ops:tripwire:ip:{client_ip(request)}"
    cache.add(key, 0, window)
    if cache.incr(key) > limit:
        return JsonResponse({"recorded": False}, status=429)
    tripwire_report_record(request=request, path=path, seen=seen, own=own, now=timezone.now())
    return JsonResponse({"recorded": True})
