"""Web pages of the vouchers app, for each role.

- everyone: open programmes and their terms; enterprise members see whether they may apply
  and why not, apply, follow their applications and vouchers, and redeem a voucher on a
  completed order after seeing what it pays and what they pay themselves;
- provider members: unclaimed redemptions per programme, claims and when they are paid;
- regional administrators (auditors and operators read): programmes with budget bars,
  application and claim queues with a confirmation step, settlement batches with an XLSX
  for the finance office, voucher revocation, the ledger.

Views parse, call one service or selector, and render; a service's DomainError becomes a
form error or a message, never a 500. A completed action redirects (POST-redirect-GET); a
POST that still needs its confirmation, or has errors, shows the form again.

One module per sub-domain (programmes, applications, vouchers, claims, settlement), helpers
they share in `common`; `vouchers/urls.py` maps them.
"""
