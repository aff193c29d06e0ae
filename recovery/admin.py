
from . import admin_reports  # noqa: E402, F401  (the REPORTS engineer's admin pages: outcomes, cap changes)
