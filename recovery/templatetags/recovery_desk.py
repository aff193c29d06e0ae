"""The desk header's count of overdue cases, drawn with the page (the desk's own code knows nothing of
recovery: the template asks this tag)."""

from django import template
from django.utils import timezone

from .. import selectors

register = template.Library()


@register.inclusion_tag("recovery/desk/overdue_badge.html")
def overdue_badge(restaurant):
    return {"restaurant": restaurant, "overdue": selectors.overdue_count(restaurant, now=timezone.now())}
