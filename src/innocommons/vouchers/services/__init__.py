"""Every write about vouchers, one function per use case (CONVENTIONS habit 1).

- `programmes`: programmes, budgets, applications and their decisions (issuing vouchers).
- `redemption`: applying a voucher to a completed order; expiry and revocation.
- `settlement`: providers' claims, their review, settlement batches and payment.
"""

from innocommons.vouchers.services.programmes import (
    ProgrammeInput,
    add_budget,
    apply_for_voucher,
    approve_application,
    create_programme,
    reject_application,
    set_programme_status,
    withdraw_application,
)
from innocommons.vouchers.services.redemption import (
    expire_vouchers,
    quote_redemption,
    redeem_voucher,
    revoke_voucher,
)
from innocommons.vouchers.services.settlement import (
    approve_claim,
    create_batch,
    pay_batch,
    reject_claim,
    submit_claim,
)

__all__ = [
    "ProgrammeInput",
    "add_budget",
    "apply_for_voucher",
    "approve_application",
    "approve_claim",
    "create_batch",
    "create_programme",
    "expire_vouchers",
    "pay_batch",
    "quote_redemption",
    "redeem_voucher",
    "reject_application",
    "reject_claim",
    "revoke_voucher",
    "set_programme_status",
    "submit_claim",
    "withdraw_application",
]
