"""Web pages. Each view parses input, calls one service or selector, and renders; htmx
requests get the partial that changed instead of the full page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from innocommons.accounts import permissions
from innocommons.accounts import selectors as account_selectors
from innocommons.accounts import services as account_services
from innocommons.accounts.models import Membership, Organisation, User
from innocommons.accounts.permissions import acting_user
from innocommons.catalog import selectors, services
from innocommons.catalog.completeness import completeness
from innocommons.catalog.exports import export_response
from innocommons.catalog.models import Kind, Status, Term
from innocommons.catalog.search.query import SearchParams, search
from innocommons.catalog.validation import INPUT_FORMS
from innocommons.core.errors import DomainError
from innocommons.core.models import Region
from innocommons.orders import selectors as orders_selectors
from innocommons.web.facets import facet_groups
from innocommons.web.forms import DecisionForm, OrganisationApplyForm, SignupForm, TokenForm


def _int(value: Any, default: int = 1) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _search_params(request: HttpRequest) -> SearchParams:
    g = request.GET
    return SearchParams(
        q=g.get("q", "")[:10_000],
        kind=g.get("kind", ""),
        field=g.get("field", ""),
        region=g.get("region", ""),
        org_type=g.get("org_type", ""),
        sort=g.get("sort", "relevance"),
        page=_int(g.get("page")),
        page_size=20,
    ).clamp()


def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "web/home.html",
        {
            "counts": selectors.counts_by_kind(),
            "newest": selectors.newest(8),
            "kinds": Kind.choices,
        },
    )


@vary_on_headers("HX-Request")
def search_page(request: HttpRequest) -> HttpResponse:
    params = _search_params(request)
    result = search(params)
    context = {
        "result": result,
        "params": params,
        "facets": facet_groups(result, request.GET),
        "kinds": dict(Kind.choices),
        "querystring": request.GET.urlencode(),
    }
    htmx: Any = getattr(request, "htmx", None)
    # A history restore needs the whole page, not the fragment.
    partial = bool(htmx) and not htmx.history_restore_request
    template = "web/partials/search_results.html" if partial else "web/search.html"
    return render(request, template, context)


def search_export(request: HttpRequest) -> HttpResponse:
    fmt = "xlsx" if request.GET.get("format") == "xlsx" else "csv"
    return export_response(_search_params(request), fmt)


def resource_detail(request: HttpRequest, resource_id: int) -> HttpResponse:
    try:
        resource = selectors.get_resource(request.user, resource_id)
    except DomainError:
        raise Http404 from None
    return render(
        request,
        "web/resource_detail.html",
        {
            "r": resource,
            "detail": resource.detail,
            "can_edit": permissions.can_edit_resources_of(request.user, resource.owner_id),
            "usage": orders_selectors.resource_usage(request.user, resource),
        },
    )


def organisation_detail(request: HttpRequest, org_id: int) -> HttpResponse:
    try:
        org = account_selectors.get_organisation(request.user, org_id)
    except DomainError:
        raise Http404 from None
    listings = selectors.organisation_resources(request.user, org.pk, status=Status.PUBLISHED)
    page = Paginator(listings, 20).get_page(request.GET.get("page"))
    return render(
        request,
        "web/organisation_detail.html",
        {
            "org": org,
            "page": page,
            "private": permissions.can_view_private_organisation(request.user, org),
            "usage": orders_selectors.usage(organisation_id=org.pk),
        },
    )


@login_required
def organisation_members(request: HttpRequest, org_id: int) -> HttpResponse:
    """Organisation admins add members, change roles and remove members."""
    user = acting_user(request)
    if not permissions.can_view_members(user, org_id):
        raise Http404
    org = account_selectors.get_organisation(user, org_id)
    is_admin = permissions.can_manage_members(user, org.pk)
    if request.method == "POST":
        if not is_admin:
            raise Http404
        username = request.POST.get("username", "").strip()[:150]
        role = request.POST.get("role") or None
        target = User.objects.filter(username=username).first()
        try:
            if target is None:
                raise DomainError(_("No user with that username."), field="username")
            account_services.set_member_role(
                actor=user, organisation_id=org.pk, user_id=target.pk, role=role
            )
            messages.success(request, _("Members updated."))
        except DomainError as exc:
            messages.error(request, str(exc.message))
        return redirect("web:members", org_id=org.pk)
    return render(
        request,
        "web/members.html",
        {
            "org": org,
            "members": org.memberships.select_related("user").order_by("user__username"),
            "is_admin": is_admin,
            "roles": Membership.Role.choices,
        },
    )


def _region_choices() -> list[tuple[str, str]]:
    regions = Region.objects.filter(in_community=True).exclude(level="country")
    return [
        (r.code, ("— " if r.level != "province" else "") + r.name) for r in regions.order_by("code")
    ]


@login_required
def organisation_apply(request: HttpRequest) -> HttpResponse:
    form = OrganisationApplyForm(request.POST or None, region_choices=_region_choices())
    if request.method == "POST" and form.is_valid():
        try:
            org = account_services.apply_organisation(
                actor=acting_user(request),
                data=account_services.OrganisationInput(**form.cleaned_data),
            )
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
        else:
            messages.success(
                request, _("Application submitted. Your region's administrator will review it.")
            )
            return redirect("web:organisation", org_id=org.pk)
    return render(request, "web/organisation_apply.html", {"form": form})


@login_required
def review_queue(request: HttpRequest) -> HttpResponse:
    if not permissions.admin_regions(request.user):
        raise Http404
    pending = account_selectors.pending_for_admin(request.user)
    page = Paginator(pending, 20).get_page(request.GET.get("page"))
    return render(request, "web/review_queue.html", {"page": page, "form": DecisionForm()})


@login_required
@require_POST
def review_decide(request: HttpRequest, org_id: int) -> HttpResponse:
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Invalid decision."))
        return redirect("web:review_queue")
    try:
        if form.cleaned_data["decision"] == "verify":
            org = account_services.verify_organisation(
                actor=acting_user(request),
                organisation_id=org_id,
                note=form.cleaned_data["reason"],
            )
            messages.success(request, _("%(name)s is verified.") % {"name": org.name})
        else:
            org = account_services.reject_organisation(
                actor=acting_user(request),
                organisation_id=org_id,
                reason=form.cleaned_data["reason"],
            )
            messages.success(request, _("%(name)s is rejected.") % {"name": org.name})
    except DomainError as exc:
        messages.error(request, str(exc.message))
    return redirect("web:review_queue")


def _my_org(request: HttpRequest) -> Organisation | None:
    orgs = account_selectors.user_organisations(request.user)
    wanted = _int(request.GET.get("org") or request.POST.get("org"), 0)
    for org in orgs:
        if org.pk == wanted:
            return org
    return orgs[0] if orgs else None


@login_required
def my_listings(request: HttpRequest) -> HttpResponse:
    org = _my_org(request)
    context: dict[str, Any] = {
        "org": org,
        "orgs": account_selectors.user_organisations(request.user),
        "kinds": Kind.choices,
        "statuses": Status.choices,
    }
    if org is not None:
        status = request.GET.get("status") or None
        qs = selectors.organisation_resources(request.user, org.pk, status=status)
        page = Paginator(qs, 20).get_page(request.GET.get("page"))
        context["page"] = page
        query: dict[str, str] = {"org": str(org.pk)}
        if status:
            query["status"] = status
        context["extra"] = urlencode(query)
        context["completeness"] = {r.pk: completeness(r) for r in page.object_list}
        context["status"] = status or ""
    return render(request, "web/my_listings.html", context)


def _listing_form(kind: str, data: Any = None, initial: dict[str, Any] | None = None) -> forms.Form:
    form = INPUT_FORMS[kind](data=data, initial=initial)
    selects = {
        "field": Term.Scheme.TECH_FIELD,
        "category": Term.Scheme.INSTRUMENT_CATEGORY
        if kind == Kind.INSTRUMENT
        else Term.Scheme.SERVICE_CATEGORY,
        "stage": Term.Scheme.MATURITY_STAGE,
    }
    for name, scheme in selects.items():
        if name in form.fields:
            terms = list(Term.objects.filter(scheme=scheme).order_by("sort"))
            depth: dict[int, int] = {}
            for t in terms:  # tree order: a parent always comes before its children
                depth[t.pk] = depth[t.parent_id] + 1 if t.parent_id in depth else 0
            choices = [("", "—")] + [(t.code, "\u3000" * depth[t.pk] + t.name) for t in terms]
            form.fields[name].widget = forms.Select(choices=choices)
    if "region" in form.fields:
        form.fields["region"].widget = forms.Select(choices=[("", "—"), *_region_choices()])
    for field in form.fields.values():
        if isinstance(field, forms.NullBooleanField):
            field.widget = forms.CheckboxInput()
    for name in ("summary_zh", "summary_en", "problem", "advantages"):
        if name in form.fields:
            form.fields[name].widget = forms.Textarea(attrs={"rows": 4})
    return form


def _save_listing(request: HttpRequest, form: forms.Form, save: Any) -> HttpResponseBase | None:
    if not form.is_valid():
        return None  # the bound form shows its own field errors
    try:
        # Raw values as the widgets read them (a checkbox gives True/False), validated
        # again by the service, which is where the rules live.
        resource = save({name: form[name].value() for name in form.fields})
    except DomainError as exc:
        for err in exc.errors():
            field = err["field"] if err["field"] in form.fields else None
            form.add_error(field, err["message"])
        return None
    messages.success(request, _("Saved."))
    return redirect("web:resource", resource_id=resource.pk)


@login_required
def listing_create(request: HttpRequest, kind: str) -> HttpResponseBase:
    if kind not in Kind.values:
        raise Http404
    org = _my_org(request)
    if org is None:
        messages.info(request, _("Register your organisation first."))
        return redirect("web:organisation_apply")
    form = _listing_form(kind, request.POST or None, initial={"region": org.region_id})
    if request.method == "POST":
        response = _save_listing(
            request,
            form,
            lambda data: services.create_resource(
                actor=acting_user(request),
                owner_id=org.pk,
                kind=kind,
                data=data,
                publish=request.POST.get("publish") == "1",
            ),
        )
        if response:
            return response
    return render(
        request,
        "web/listing_form.html",
        {
            "form": form,
            "kind_label": dict(Kind.choices)[kind],
            "org": org,
        },
    )


@login_required
def listing_edit(request: HttpRequest, resource_id: int) -> HttpResponseBase:
    try:
        resource = selectors.get_resource(request.user, resource_id)
    except DomainError:
        raise Http404 from None
    if not permissions.can_edit_resources_of(request.user, resource.owner_id):
        raise Http404
    form = _listing_form(
        resource.kind, request.POST or None, initial=services.current_values(resource)
    )
    if request.method == "POST":
        response = _save_listing(
            request,
            form,
            lambda data: services.update_resource(
                actor=acting_user(request),
                resource_id=resource.pk,
                data=data,
            ),
        )
        if response:
            return response
    return render(
        request,
        "web/listing_form.html",
        {
            "form": form,
            "resource": resource,
            "kind_label": dict(Kind.choices)[resource.kind],
            "org": resource.owner,
        },
    )


@login_required
@require_POST
def listing_status(request: HttpRequest, resource_id: int) -> HttpResponseBase:
    try:
        resource = services.set_resource_status(
            actor=acting_user(request),
            resource_id=resource_id,
            status=request.POST.get("status", ""),
        )
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return redirect("web:my_listings")
    messages.success(
        request, _("Status changed to “%(status)s”.") % {"status": resource.get_status_display()}
    )
    nxt = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}):
        return redirect(nxt)
    return redirect("web:my_listings")


@login_required
def tokens(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST or None)
    new_key = None
    if request.method == "POST":
        if "revoke" in request.POST:
            try:
                account_services.revoke_api_token(
                    actor=acting_user(request),
                    token_id=_int(request.POST["revoke"], 0),
                )
                messages.success(request, _("Token revoked."))
            except DomainError as exc:
                messages.error(request, str(exc.message))
            return redirect("web:tokens")
        if form.is_valid():
            try:
                _token, new_key = account_services.create_api_token(
                    actor=acting_user(request),
                    name=form.cleaned_data["name"],
                )
                form = TokenForm()
            except DomainError as exc:
                form.add_error("name", str(exc.message))
    return render(
        request,
        "web/tokens.html",
        {
            "form": form,
            "new_key": new_key,
            "tokens": acting_user(request).api_tokens.all(),
        },
    )


def signup(request: HttpRequest) -> HttpResponse:
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, _("Welcome! Register or join an organisation to get started."))
        return redirect("web:organisation_apply")
    return render(request, "web/auth/signup.html", {"form": form})
