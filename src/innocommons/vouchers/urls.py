"""Web pages of the vouchers app."""

from __future__ import annotations

from django.urls import path

from innocommons.vouchers import views

app_name = "vouchers"

urlpatterns = [
    # everyone
    path("vouchers/", views.programmes, name="programmes"),
    path("vouchers/programmes/<int:programme_id>/", views.programme_detail, name="programme"),
    # enterprises
    path("vouchers/programmes/<int:programme_id>/apply/", views.apply, name="apply"),
    path("vouchers/mine/", views.my_vouchers, name="my_vouchers"),
    path("vouchers/v/<int:voucher_id>/", views.voucher_detail, name="voucher"),
    path(
        "vouchers/applications/<int:application_id>/withdraw/",
        views.withdraw,
        name="withdraw",
    ),
    path("vouchers/redeem/<int:order_id>/", views.redeem, name="redeem"),
    # providers
    path("vouchers/claims/", views.provider_claims, name="provider_claims"),
    path("vouchers/claims/submit/", views.claim_submit, name="claim_submit"),
    # regional administrators, auditors, operators
    path("vouchers/manage/", views.manage, name="manage"),
    path("vouchers/manage/new/", views.programme_create, name="programme_create"),
    path("vouchers/manage/<int:programme_id>/", views.dashboard, name="dashboard"),
    path("vouchers/manage/<int:programme_id>/budget/", views.add_budget, name="add_budget"),
    path("vouchers/manage/<int:programme_id>/status/", views.set_status, name="set_status"),
    path(
        "vouchers/manage/<int:programme_id>/vouchers/",
        views.programme_vouchers,
        name="programme_vouchers",
    ),
    path("vouchers/manage/<int:programme_id>/batches/", views.batches, name="batches"),
    path("vouchers/manage/<int:programme_id>/ledger/", views.ledger, name="ledger"),
    path("vouchers/manage/applications/", views.application_queue, name="application_queue"),
    path(
        "vouchers/manage/applications/<int:application_id>/",
        views.application_decide,
        name="application_decide",
    ),
    path("vouchers/manage/claims/", views.claim_queue, name="claim_queue"),
    path("vouchers/manage/claims/<int:claim_id>/", views.claim_decide, name="claim_decide"),
    path("vouchers/manage/vouchers/<int:voucher_id>/revoke/", views.voucher_revoke, name="revoke"),
    path("vouchers/manage/batches/<int:batch_id>/", views.batch_detail, name="batch"),
    path("vouchers/manage/batches/<int:batch_id>/pay/", views.batch_pay, name="batch_pay"),
    path(
        "vouchers/manage/batches/<int:batch_id>/export.xlsx",
        views.batch_export,
        name="batch_export",
    ),
]
