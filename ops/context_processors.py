from ops.tripwire import viewer_marker


def viewer(request):
    # Lazy (templates call it): computed, and request.user touched, only where a private page
    # renders it; public pages never ask.
    return {"viewer_marker": lambda: viewer_marker(request.user.pk)}
