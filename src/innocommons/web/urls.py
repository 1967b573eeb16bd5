from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from innocommons.web import views
from innocommons.web.forms import LoginForm

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.search_page, name="search"),
    path("search/export/", views.search_export, name="search_export"),
    path("resources/<int:resource_id>/", views.resource_detail, name="resource"),
    path("organisations/<int:org_id>/", views.organisation_detail, name="organisation"),
    path("organisations/apply/", views.organisation_apply, name="organisation_apply"),
    path("organisations/<int:org_id>/members/", views.organisation_members, name="members"),
    path("review/organisations/", views.review_queue, name="review_queue"),
    path("review/organisations/<int:org_id>/", views.review_decide, name="review_decide"),
    path("my/listings/", views.my_listings, name="my_listings"),
    path("my/listings/new/<str:kind>/", views.listing_create, name="listing_create"),
    path("my/listings/<int:resource_id>/edit/", views.listing_edit, name="listing_edit"),
    path("my/listings/<int:resource_id>/status/", views.listing_status, name="listing_status"),
    path("my/tokens/", views.tokens, name="tokens"),
    path("signup/", views.signup, name="signup"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="web/auth/login.html", authentication_form=LoginForm
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "password/change/",
        auth_views.PasswordChangeView.as_view(
            template_name="web/auth/form.html", success_url=reverse_lazy("web:home")
        ),
        name="password_change",
    ),
    path(
        "password/reset/",
        auth_views.PasswordResetView.as_view(
            template_name="web/auth/form.html",
            email_template_name="web/auth/reset_email.txt",
            success_url=reverse_lazy("web:password_reset_done"),
        ),
        name="password_reset",
    ),
    path(
        "password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="web/auth/message.html"),
        name="password_reset_done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="web/auth/form.html", success_url=reverse_lazy("web:login")
        ),
        name="password_reset_confirm",
    ),
]
