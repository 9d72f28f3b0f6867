from ops.tripwire import viewer_marker, visitor_mark


def viewer(request):
    # Lazy (templates call them): computed, and request.user touched, only where a private
    # page renders them; public pages never ask.
    return {
        "viewer_marker": lambda: viewer_marker(request.user.pk),
        "visitor_mark": lambda: visitor_mark(request),
    }
