"""Web pages: technology demands (技术需求), their matches, interest threads and the inbox.

- everyone: the list of demands, each demand's public summary and its ranked matches
  (listings and providers, each with its reasons); the details only for verified
  organisations unless made public;
- enterprises' members: post, edit, publish and close their demands; read every thread of
  their demands;
- verified organisations' members: express interest (opens the organisation's thread with
  the poster) and converse there;
- every signed-in user: the inbox of notifications (list, unread count, mark read);
- a partial listing the open demands a listing answers, for the achievement page.

Views parse, call one service or selector, and render; htmx requests get the partial.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from innocommons.accounts.permissions import acting_user
from innocommons.catalog.models import Resource, Status, Term
from innocommons.catalog.validation import YuanField
from innocommons.core.errors import DomainError
from innocommons.core.models import Region
from innocommons.core.money import fen_to_yuan
from innocommons.market.models import Demand
from innocommons.market.selectors import demands as selectors
from innocommons.market.services import demands as services

PER_PAGE = 20
MATCH_LIMIT = 10
SERVICE_FIELDS = {"budget_min_fen": "budget_min", "budget_max_fen": "budget_max"}
# DESIGN §6: the market's stages, as the TRL a demand can ask for.
TRL_CHOICES = [
    ("", gettext_lazy("No particular maturity")),
    ("3", gettext_lazy("TRL ≥ 3 · under development (正在研发)")),
    ("4", gettext_lazy("TRL ≥ 4 · prototype available (已有样品)")),
    ("5", gettext_lazy("TRL ≥ 5 · lab-scale trial passed (通过小试)")),
    ("6", gettext_lazy("TRL ≥ 6 · pilot-scale trial passed (通过中试)")),
    ("8", gettext_lazy("TRL ≥ 8 · ready for mass production (可以量产)")),
]


def _partial(request: HttpRequest) -> bool:
    htmx: Any = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request


def _read(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except DomainError as exc:
        if exc.status == 403:
            raise DjangoPermissionDenied(str(exc.message)) from None
        raise Http404(str(exc.message)) from None


def _detail(demand_id: int) -> HttpResponseBase:
    return redirect("market:demand_detail", demand_id=demand_id)


def add_domain_error(form: forms.Form, exc: DomainError) -> None:
    for err in exc.errors():
        name = SERVICE_FIELDS.get(err["field"], err["field"])
        form.add_error(name if name in form.fields else None, err["message"])


def _choices(form: forms.Form, name: str, choices: Any) -> None:
    field = form.fields[name]
    assert isinstance(field, forms.ChoiceField)
    field.choices = choices


def field_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """The technology fields grouped by top field: each group offers the field itself and
    its sub-fields."""
    terms = list(Term.objects.filter(scheme=Term.Scheme.TECH_FIELD).order_by("sort", "code"))
    groups: list[tuple[str, list[tuple[str, str]]]] = []
    for top in (t for t in terms if t.parent_id is None):
        options = [(top.code, top.name)] + [
            (t.code, f"{t.code} {t.name}") for t in terms if t.parent_id == top.pk
        ]
        groups.append((top.name, options))
    return groups


def region_choices() -> list[tuple[str, str]]:
    rows = Region.objects.filter(in_community=True).exclude(level=Region.Level.COUNTRY)
    return [("", _("The organisation's region"))] + [
        (r.code, ("· " if r.level != Region.Level.PROVINCE else "") + r.name)
        for r in rows.order_by("code")
    ]


# --- forms ---------------------------------------------------------------------------------


class DateInput(forms.DateInput):
    input_type = "date"


class DemandForm(forms.Form):
    organisation = forms.TypedChoiceField(label=gettext_lazy("Posted by"), coerce=int)
    title_zh = forms.CharField(label=gettext_lazy("Title (Chinese)"), max_length=200)
    title_en = forms.CharField(
        label=gettext_lazy("Title (English)"), max_length=200, required=False
    )
    summary_zh = forms.CharField(
        label=gettext_lazy("The problem (Chinese, public)"),
        max_length=3000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=gettext_lazy(
            "What should be solved, and what you have tried. Everyone can read this; matching "
            "uses it."
        ),
    )
    summary_en = forms.CharField(
        label=gettext_lazy("The problem (English, public)"),
        max_length=3000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    details_zh = forms.CharField(
        label=gettext_lazy("Details (Chinese)"),
        max_length=10_000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=gettext_lazy("Specifications, quantities, constraints. See confidentiality."),
    )
    details_en = forms.CharField(
        label=gettext_lazy("Details (English)"),
        max_length=10_000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    confidentiality = forms.ChoiceField(
        label=gettext_lazy("Who may read the details"),
        choices=Demand.Confidentiality.choices,
        initial=Demand.Confidentiality.VERIFIED,
        widget=forms.RadioSelect,
    )
    keywords = forms.CharField(
        label=gettext_lazy("Keywords"),
        max_length=500,
        required=False,
        help_text=gettext_lazy("Separated by ；, ，or 、 — they weigh as much as the title."),
    )
    field = forms.ChoiceField(label=gettext_lazy("Technology field"))
    budget_min = YuanField(label=gettext_lazy("Budget from (yuan)"))
    budget_max = YuanField(
        label=gettext_lazy("Budget up to (yuan)"),
        help_text=gettext_lazy(
            "Listings asking more rank lower. From one million yuan on, matching expects "
            "technology near production (TRL ≥ 6) unless you choose a maturity."
        ),
    )
    min_trl = forms.TypedChoiceField(
        label=gettext_lazy("Maturity needed"),
        choices=TRL_CHOICES,
        coerce=int,
        empty_value=None,
        required=False,
    )
    deadline = forms.DateField(label=gettext_lazy("Deadline"), widget=DateInput)
    region = forms.ChoiceField(label=gettext_lazy("Region"), required=False)

    def __init__(self, *args: Any, posters: list[Any], editing: bool = False, **kwargs: Any):
        super().__init__(*args, **kwargs)
        _choices(self, "organisation", [(o.pk, o.name) for o in posters])
        _choices(self, "field", field_choices())
        _choices(self, "region", region_choices())
        if editing:
            del self.fields["organisation"]

    def changes(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            "title_zh": d["title_zh"],
            "title_en": d["title_en"],
            "summary_zh": d["summary_zh"],
            "summary_en": d["summary_en"],
            "details_zh": d["details_zh"],
            "details_en": d["details_en"],
            "confidentiality": d["confidentiality"],
            "keywords": d["keywords"],
            "field": d["field"],
            "budget_min_fen": d["budget_min"],
            "budget_max_fen": d["budget_max"],
            "min_trl": d["min_trl"],
            "deadline": d["deadline"],
            "region": d["region"],
        }


class CloseForm(forms.Form):
    outcome = forms.ChoiceField(
        label=gettext_lazy("Outcome"),
        choices=[
            (Demand.Outcome.SOLVED, gettext_lazy("Solved")),
            (Demand.Outcome.WITHDRAWN, gettext_lazy("Withdrawn")),
        ],
    )


class InterestForm(forms.Form):
    organisation = forms.TypedChoiceField(label=gettext_lazy("On behalf of"), coerce=int)
    resource = forms.TypedChoiceField(
        label=gettext_lazy("Listing you offer (optional)"),
        coerce=int,
        empty_value=None,
        required=False,
    )
    message = forms.CharField(
        label=gettext_lazy("Message to the enterprise"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(self, *args: Any, orgs: list[Any], **kwargs: Any):
        super().__init__(*args, **kwargs)
        _choices(self, "organisation", [(o.pk, o.name) for o in orgs])
        listings = (
            Resource.objects.filter(owner__in=orgs, status=Status.PUBLISHED)
            .select_related("owner")
            .order_by("owner_id", "-published_at")[:200]
        )
        _choices(
            self,
            "resource",
            [("", "—")] + [(r.pk, f"{r.owner.name} · {r.title}") for r in listings],
        )


class MessageForm(forms.Form):
    body = forms.CharField(
        label=gettext_lazy("Message"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )


# --- everyone ------------------------------------------------------------------------------


def demand_list(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "")[:100]
    field = request.GET.get("field", "")[:20]
    state = request.GET.get("state", "open")
    if state not in ("open", "closed", "all"):
        state = "open"
    qs = selectors.public_demands(q=q, field=field, state="" if state == "all" else state)
    page = Paginator(qs, PER_PAGE).get_page(request.GET.get("page"))
    extra = urlencode({k: v for k, v in (("q", q), ("field", field), ("state", state)) if v})
    context = {
        "page": page,
        "q": q,
        "field": field,
        "state": state,
        "extra": extra,
        "fields": [
            (t.code, t.name)
            for t in Term.objects.filter(scheme=Term.Scheme.TECH_FIELD, parent__isnull=True)
        ],
        "can_post": bool(selectors.poster_organisations(request.user)),
    }
    if _partial(request):
        return render(request, "market/demands/partials/list_rows.html", context)
    return render(request, "market/demands/list.html", context)


def _matches_context(request: HttpRequest, demand: Demand) -> dict[str, Any]:
    kind = request.GET.get("kind", "")
    if kind not in (*selectors.MATCH_KINDS, "providers"):
        kind = ""
    found = selectors.demand_matches(
        demand, kind="" if kind == "providers" else kind, limit=MATCH_LIMIT
    )
    return {
        "demand": demand,
        "kind": kind,
        "matches": found.listings,
        "providers": found.providers,
        "terms": found.terms,
        "kinds": selectors.kind_labels(),
    }


def demand_detail(request: HttpRequest, demand_id: int) -> HttpResponse:
    demand = _read(selectors.get_demand, request.user, demand_id)
    orgs = selectors.interest_organisations(request.user, demand)
    context = {
        "d": demand,
        "show_details": selectors.can_see_details(request.user, demand),
        "can_edit": selectors.can_edit(request.user, demand),
        "interest_form": InterestForm(orgs=orgs) if orgs else None,
        "close_form": CloseForm(),
        "threads": list(selectors.threads_of_demand(request.user, demand))
        if request.user.is_authenticated
        else [],
        "alerts": selectors.alerted_listings(request.user, demand),
        "today": timezone.localdate(),
        **_matches_context(request, demand),
    }
    return render(request, "market/demands/detail.html", context)


def demand_matches(request: HttpRequest, demand_id: int) -> HttpResponse:
    """The matches section alone (htmx tabs per kind)."""
    demand = _read(selectors.get_demand, request.user, demand_id)
    return render(
        request, "market/demands/partials/matches.html", _matches_context(request, demand)
    )


def demand_for_resource(request: HttpRequest, resource_id: int) -> HttpResponse:
    """Open demands a listing answers, as a partial for the listing's page."""
    matches = _read(selectors.demands_for_resource, request.user, resource_id)
    return render(
        request,
        "market/demands/partials/for_resource.html",
        {"matches": matches, "resource_id": resource_id},
    )


# --- posters ---------------------------------------------------------------------------


@login_required
def demand_mine(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    status = request.GET.get("status", "")
    page = Paginator(selectors.my_demands(user, status=status), PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "market/demands/mine.html",
        {
            "page": page,
            "status": status,
            "statuses": Demand.Status.choices,
            "threads": selectors.my_threads(user)[:50],
            "can_post": bool(selectors.poster_organisations(user)),
            "extra": urlencode({"status": status}) if status else "",
        },
    )


@login_required
def demand_new(request: HttpRequest) -> HttpResponseBase:
    user = acting_user(request)
    posters = selectors.poster_organisations(user)
    if not posters:
        raise DjangoPermissionDenied(_("Technology demands are posted by enterprises' members."))
    form = DemandForm(request.POST or None, posters=posters)
    if request.method == "POST" and form.is_valid():
        try:
            demand = services.create_demand(
                actor=user,
                data=services.DemandInput(
                    organisation_id=form.cleaned_data["organisation"], **form.changes()
                ),
                publish=request.POST.get("action") == "publish",
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(
                request,
                _("Demand published: matching providers are being told.")
                if demand.status == Demand.Status.PUBLISHED
                else _("Draft saved."),
            )
            return _detail(demand.pk)
    return render(request, "market/demands/form.html", {"form": form, "demand": None})


@login_required
def demand_edit(request: HttpRequest, demand_id: int) -> HttpResponseBase:
    user = acting_user(request)
    demand = _read(selectors.get_demand, user, demand_id)
    if not selectors.can_edit(user, demand):
        raise DjangoPermissionDenied(_("Only the posting organisation can change its demand."))
    initial = {
        **vars(services.current_input(demand)),
        "keywords": "；".join(demand.keyword_list),
        "budget_min": None if demand.budget_min_fen is None else fen_to_yuan(demand.budget_min_fen),
        "budget_max": None if demand.budget_max_fen is None else fen_to_yuan(demand.budget_max_fen),
        "min_trl": "" if demand.min_trl is None else str(demand.min_trl),
        "region": demand.region_id,
    }
    form = DemandForm(request.POST or None, initial=initial, posters=[], editing=True)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_demand(actor=user, demand_id=demand.pk, changes=form.changes())
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Demand saved."))
            return _detail(demand.pk)
    return render(request, "market/demands/form.html", {"form": form, "demand": demand})


@login_required
@require_POST
def demand_publish(request: HttpRequest, demand_id: int) -> HttpResponseBase:
    try:
        services.publish_demand(actor=acting_user(request), demand_id=demand_id)
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Demand published: matching providers are being told."))
    return _detail(demand_id)


@login_required
@require_POST
def demand_close(request: HttpRequest, demand_id: int) -> HttpResponseBase:
    form = CloseForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose how the demand ended."))
        return _detail(demand_id)
    try:
        services.close_demand(
            actor=acting_user(request), demand_id=demand_id, outcome=form.cleaned_data["outcome"]
        )
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Demand closed."))
    return _detail(demand_id)


# --- providers and threads -----------------------------------------------------------


@login_required
@require_POST
def demand_interest(request: HttpRequest, demand_id: int) -> HttpResponseBase:
    user = acting_user(request)
    demand = _read(selectors.get_demand, user, demand_id)
    orgs = selectors.interest_organisations(user, demand)
    form = InterestForm(request.POST, orgs=orgs)
    if not orgs or not form.is_valid():
        messages.error(request, _("Choose your organisation and write a message."))
        return _detail(demand_id)
    try:
        thread = services.express_interest(
            actor=user,
            demand_id=demand_id,
            organisation_id=form.cleaned_data["organisation"],
            message=form.cleaned_data["message"],
            resource_id=form.cleaned_data["resource"],
        )
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return _detail(demand_id)
    messages.success(request, _("Your interest was sent; the enterprise has been notified."))
    return redirect("market:thread", thread_id=thread.pk)


@login_required
def thread(request: HttpRequest, thread_id: int) -> HttpResponseBase:
    user = acting_user(request)
    t = _read(selectors.get_thread, user, thread_id)
    form = MessageForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.post_message(actor=user, thread_id=t.pk, body=form.cleaned_data["body"])
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            return redirect("market:thread", thread_id=t.pk)
    return render(
        request,
        "market/demands/thread.html",
        {
            "t": t,
            "messages_list": selectors.thread_messages(t),
            "form": form,
            "side": services.side_of(user, t),
        },
    )


# --- inbox ---------------------------------------------------------------------------


@login_required
def inbox(request: HttpRequest) -> HttpResponseBase:
    user = acting_user(request)
    if request.method == "POST":
        raw = request.POST.get("id", "")
        ids = [int(raw)] if raw.isdigit() else None
        services.mark_notifications_read(actor=user, ids=ids)
        target = request.POST.get("next", "")
        if ids and target.startswith("/") and not target.startswith("//"):
            return redirect(target)
        return redirect("market:inbox")
    unread_only = request.GET.get("unread") == "1"
    page = Paginator(selectors.notifications(user, unread_only=unread_only), PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "market/demands/inbox.html",
        {
            "page": page,
            "unread": selectors.unread_count(user),
            "unread_only": unread_only,
            "extra": "unread=1" if unread_only else "",
        },
    )


urlpatterns: list[URLPattern] = [
    path("market/demands/", demand_list, name="demand_list"),
    path("market/demands/mine/", demand_mine, name="demand_mine"),
    path("market/demands/new/", demand_new, name="demand_new"),
    path("market/demands/<int:demand_id>/", demand_detail, name="demand_detail"),
    path("market/demands/<int:demand_id>/edit/", demand_edit, name="demand_edit"),
    path("market/demands/<int:demand_id>/publish/", demand_publish, name="demand_publish"),
    path("market/demands/<int:demand_id>/close/", demand_close, name="demand_close"),
    path("market/demands/<int:demand_id>/interest/", demand_interest, name="demand_interest"),
    path("market/demands/<int:demand_id>/matches/", demand_matches, name="demand_matches"),
    path(
        "market/demands/for-resource/<int:resource_id>/",
        demand_for_resource,
        name="demand_for_resource",
    ),
    path("market/threads/<int:thread_id>/", thread, name="thread"),
    path("inbox/", inbox, name="inbox"),
]
