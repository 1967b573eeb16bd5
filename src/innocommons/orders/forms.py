"""Web forms of the orders app. They parse what people type; the services check the rules."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from innocommons.accounts.models import Organisation
from innocommons.catalog.validation import YuanField
from innocommons.orders import hours, reports
from innocommons.orders.models import Booking

WEEKDAYS = [
    ("1", _("Monday")),
    ("2", _("Tuesday")),
    ("3", _("Wednesday")),
    ("4", _("Thursday")),
    ("5", _("Friday")),
    ("6", _("Saturday")),
    ("7", _("Sunday")),
]


class DateInput(forms.DateInput):
    input_type = "date"


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%H:%M", **kwargs)


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


def _org_choices(orgs: list[Organisation]) -> list[tuple[int, str]]:
    return [(o.pk, o.name) for o in orgs]


class BookingForm(forms.Form):
    """One day's time range in Beijing time; 00:00 as the end means midnight."""

    organisation = forms.TypedChoiceField(label=_("Book for"), coerce=int)
    day = forms.DateField(label=_("Date"), widget=DateInput)
    start_time = forms.TimeField(label=_("From (Beijing time)"), widget=TimeInput)
    end_time = forms.TimeField(label=_("Until (Beijing time)"), widget=TimeInput)
    purpose = forms.CharField(
        label=_("Purpose"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Samples, method, or anything the instrument staff should know."),
    )

    def __init__(self, *args: Any, organisations: list[Organisation], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].choices = _org_choices(organisations)  # type: ignore[attr-defined]

    def span(self) -> tuple[datetime, datetime]:
        data = self.cleaned_data
        start = datetime.combine(data["day"], data["start_time"], hours.TZ)
        end_day = data["day"] + timedelta(days=1) if data["end_time"] == time(0) else data["day"]
        return start, datetime.combine(end_day, data["end_time"], hours.TZ)


class OrderRequestForm(forms.Form):
    client = forms.TypedChoiceField(label=_("Order for"), coerce=int)
    description = forms.CharField(
        label=_("What do you need?"),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Samples, quantities, standards, deadline."),
    )
    booking = forms.TypedChoiceField(
        label=_("For your booking"), coerce=int, required=False, empty_value=None
    )

    def __init__(
        self,
        *args: Any,
        organisations: list[Organisation],
        bookings: list[Booking],
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self.fields["client"].choices = _org_choices(organisations)  # type: ignore[attr-defined]
        if bookings:
            self.fields["booking"].choices = [("", "—")] + [  # type: ignore[attr-defined]
                (b.pk, hours.fmt_range(b.start, b.end)) for b in bookings
            ]
        else:
            del self.fields["booking"]


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class QuoteForm(forms.Form):
    amount_yuan = YuanField(label=_("Fee (yuan)"), required=True)


class DeliverForm(forms.Form):
    report = forms.FileField(
        label=_("Report"),
        help_text=_("PDF, Word, Excel, ZIP, PNG or JPEG; at most 20 MiB."),
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(f".{e}" for e in reports.TYPES)}),
    )
    service_hours = forms.DecimalField(
        label=_("Service hours"),
        required=False,
        min_value=0,
        max_digits=8,
        decimal_places=2,
        help_text=_("Leave empty to use the booked time."),
    )


class InvoiceForm(forms.Form):
    invoice_no = forms.CharField(label=_("Invoice number"), max_length=40)


class RatingForm(forms.Form):
    score = forms.TypedChoiceField(
        label=_("Score"),
        coerce=int,
        choices=[(n, "★" * n) for n in range(5, 0, -1)],
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Comment"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


# Which form each order step needs (steps not listed are a bare button).
STEP_FORMS: dict[str, type[forms.Form]] = {
    "quote": QuoteForm,
    "decline": ReasonForm,
    "cancel": ReasonForm,
    "deliver": DeliverForm,
    "invoice": InvoiceForm,
    "rate": RatingForm,
}


class CalendarForm(forms.Form):
    weekdays = forms.MultipleChoiceField(
        label=_("Open on"), choices=WEEKDAYS, widget=forms.CheckboxSelectMultiple
    )
    opens_at = forms.TimeField(label=_("Opens at (Beijing time)"), widget=TimeInput)
    closes_at = forms.TimeField(
        label=_("Closes at (Beijing time)"),
        widget=TimeInput,
        help_text=_("00:00 means midnight at the end of the day."),
    )
    horizon_days = forms.IntegerField(label=_("Bookable days ahead"), min_value=1, max_value=730)
    max_future_per_org = forms.IntegerField(
        label=_("Upcoming bookings per organisation"), min_value=1, max_value=10_000
    )
    cancel_notice_hours = forms.IntegerField(
        label=_("Cancellation notice (hours)"), min_value=0, max_value=720
    )


class BlackoutForm(forms.Form):
    start = forms.DateTimeField(label=_("From (Beijing time)"), widget=DateTimeInput)
    end = forms.DateTimeField(label=_("Until (Beijing time)"), widget=DateTimeInput)
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)
