"""Web pages of the vouchers app."""

from __future__ import annotations

from django.urls import path

from innocommons.vouchers.views import applications, claims, programmes, settlement, vouchers

app_name = "vouchers"

urlpatterns = [
    # everyone
    path("vouchers/", programmes.programmes, name="programmes"),
    path("vouchers/programmes/<int:programme_id>/", programmes.programme_detail, name="programme"),
    # enterprises
    path("vouchers/programmes/<int:programme_id>/apply/", applications.apply, name="apply"),
    path("vouchers/mine/", vouchers.my_vouchers, name="my_vouchers"),
    path("vouchers/v/<int:voucher_id>/", vouchers.voucher_detail, name="voucher"),
    path(
        "vouchers/applications/<int:application_id>/withdraw/",
        applications.withdraw,
        name="withdraw",
    ),
    path("vouchers/redeem/<int:order_id>/", vouchers.redeem, name="redeem"),
    # providers
    path("vouchers/claims/", claims.provider_claims, name="provider_claims"),
    path("vouchers/claims/submit/", claims.claim_submit, name="claim_submit"),
    # regional administrators, auditors, operators
    path("vouchers/manage/", programmes.manage, name="manage"),
    path("vouchers/manage/new/", programmes.programme_create, name="programme_create"),
    path("vouchers/manage/<int:programme_id>/", programmes.dashboard, name="dashboard"),
    path("vouchers/manage/<int:programme_id>/budget/", programmes.add_budget, name="add_budget"),
    path("vouchers/manage/<int:programme_id>/status/", programmes.set_status, name="set_status"),
    path(
        "vouchers/manage/<int:programme_id>/vouchers/",
        vouchers.programme_vouchers,
        name="programme_vouchers",
    ),
    path("vouchers/manage/<int:programme_id>/batches/", settlement.batches, name="batches"),
    path("vouchers/manage/<int:programme_id>/ledger/", settlement.ledger, name="ledger"),
    path("vouchers/manage/applications/", applications.application_queue, name="application_queue"),
    path(
        "vouchers/manage/applications/<int:application_id>/",
        applications.application_decide,
        name="application_decide",
    ),
    path("vouchers/manage/claims/", claims.claim_queue, name="claim_queue"),
    path("vouchers/manage/claims/<int:claim_id>/", claims.claim_decide, name="claim_decide"),
    path(
        "vouchers/manage/vouchers/<int:voucher_id>/revoke/", vouchers.voucher_revoke, name="revoke"
    ),
    path("vouchers/manage/batches/<int:batch_id>/", settlement.batch_detail, name="batch"),
    path("vouchers/manage/batches/<int:batch_id>/pay/", settlement.batch_pay, name="batch_pay"),
    path(
        "vouchers/manage/batches/<int:batch_id>/export.xlsx",
        settlement.batch_export,
        name="batch_export",
    ),
]
