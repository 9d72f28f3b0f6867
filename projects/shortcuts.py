from django.shortcuts import get_object_or_404

from projects.models import Listing, Shop


def operated_shop(request, shop_id: int) -> Shop:
    """The shop, if and only if the logged-in user operates it (404 otherwise, so an id does
    not even reveal whether the shop exists). For the operator pages of every app."""
    return get_object_or_404(
        Shop.objects.operated_by(request.user).select_related("project"), pk=shop_id
    )


def operated_listing(shop: Shop, listing_id: int) -> Listing:
    return get_object_or_404(Listing, pk=listing_id, shop=shop)
