from django import template

register = template.Library()


@register.filter
def percent(value) -> str:
    """A rate (0.25) as the manager reads it (25%); nothing counted is a dash, not 0%."""
    if value is None:
        return "—"
    return f"{value * 100:.0f}%"
