"""Open challenges (揭榜挂帅): every write, one function per use case.

Who acts (checked here, not in the views):
- the issuer: for an enterprise's challenge its members; for a region's challenge the
  administrators of that region. A region's challenge names a government organisation of
  the region as `issuer_org` (chosen by the administrator, or the one nearest the region);
  it is the buyer of the award's contract, so the region's absorption statistics count
  the reward. A region with no government organisation on the platform must register its
  agency first — the challenge is refused at creation rather than failing at the award.
- teams: members of a verified lead organisation, with partner organisations from any
  region; one proposal per lead organisation, changed or withdrawn until the deadline;
- panelists: users the issuer invites; after the deadline each scores the proposals on the
  published criteria (0–100 per criterion, weighted by the criteria's weights), except the
  proposals of organisations they are members of (conflict of interest);
- anyone signed in may object while a selection stands in public notice.

The award (after the notice) creates the development contract through
`services.contracts.create_draft` and opens the milestones; the issuer's acceptance of a
milestone releases its amount exactly once (conditional update + a CHECK constraint).

Modules: `common` (inputs, limits, lookups, roles), `issuing` (challenges and their
panel), `proposals` (proposals, scores, ranking), `award` (selection, notice, objections,
award, milestones).
"""

from innocommons.market.services.challenges.award import (
    accept_milestone,
    award_challenge,
    object_to_selection,
    select_winner,
    withdraw_selection,
)
from innocommons.market.services.challenges.common import (
    ATTACHMENT_TYPES,
    MAX_ATTACHMENTS,
    MAX_CRITERIA,
    MAX_MILESTONES,
    MAX_PARTNERS,
    TWO,
    ChallengeInput,
    CriterionInput,
    MilestoneInput,
    get_challenge,
    get_proposal,
    is_conflicted,
    is_issuer,
    panelist_of,
)
from innocommons.market.services.challenges.issuing import (
    cancel_challenge,
    create_challenge,
    government_org_for,
    invite_panelist,
    remove_panelist,
)
from innocommons.market.services.challenges.proposals import (
    RankRow,
    add_attachment,
    rank_proposals,
    score_proposal,
    submit_proposal,
    update_proposal,
    weighted_score,
    withdraw_proposal,
)

__all__ = [
    "ATTACHMENT_TYPES",
    "MAX_ATTACHMENTS",
    "MAX_CRITERIA",
    "MAX_MILESTONES",
    "MAX_PARTNERS",
    "TWO",
    "ChallengeInput",
    "CriterionInput",
    "MilestoneInput",
    "RankRow",
    "accept_milestone",
    "add_attachment",
    "award_challenge",
    "cancel_challenge",
    "create_challenge",
    "get_challenge",
    "get_proposal",
    "government_org_for",
    "invite_panelist",
    "is_conflicted",
    "is_issuer",
    "object_to_selection",
    "panelist_of",
    "rank_proposals",
    "remove_panelist",
    "score_proposal",
    "select_winner",
    "submit_proposal",
    "update_proposal",
    "weighted_score",
    "withdraw_proposal",
    "withdraw_selection",
]
