from django.urls import path

from projects import views

app_name = "projects"

urlpatterns = [
    # Public, cacheable: the same page for everyone.
    path("shops/", views.shop_list, name="shop_list"),
    path("shops/<int:shop_id>/", views.shop_detail, name="shop_detail"),
    path("projects/<slug:slug>/", views.project_detail, name="project_detail"),
    path("projects/<slug:slug>/rounds/<int:number>/", views.round_detail, name="round_detail"),
    path("faq/", views.faq, name="faq"),
    path("terms/", views.terms, name="terms"),
    path("privacy/", views.privacy, name="privacy"),
    path("legal/", views.legal, name="legal"),
    # Shop operators: private, scoped to the shops the user operates.
    path("shops/manage/", views.manage_index, name="manage_index"),
    path("shops/manage/apply/", views.shop_apply_view, name="shop_apply"),
    path("shops/manage/<int:shop_id>/", views.manage_shop, name="manage_shop"),
    path("shops/manage/<int:shop_id>/edit/", views.manage_shop_edit, name="manage_shop_edit"),
    path(
        "shops/manage/<int:shop_id>/listings/new/",
        views.manage_listing_create,
        name="manage_listing_create",
    ),
    path(
        "shops/manage/<int:shop_id>/listings/<int:listing_id>/",
        views.manage_listing_edit,
        name="manage_listing_edit",
    ),
    path(
        "shops/manage/<int:shop_id>/listings/<int:listing_id>/withdraw/",
        views.manage_listing_withdraw,
        name="manage_listing_withdraw",
    ),
    path("shops/manage/<int:shop_id>/figures/", views.manage_figures, name="manage_figures"),
    # POST with a nonce of the browser's own (kaika/downloads.py), never one URL for everyone.
    path(
        "shops/manage/<int:shop_id>/figures/download/<str:nonce>/",
        views.manage_figures_csv,
        name="manage_figures_csv",
    ),
]
