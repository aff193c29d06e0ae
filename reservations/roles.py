"""The two roles a member of staff holds at a restaurant, and what the manager's role opens in the admin.

A role belongs to a membership (`StaffMembership.role`): a manager at one restaurant may be a host at another.
Whether a user is a manager *here* is asked of `reservations.access` with the restaurant in hand; a superuser
is an admin of every restaurant.
"""

HOST = "host"
MANAGER = "manager"

# The back office's model permissions a manager holds (`reservations.backends.MembershipRoleBackend`); which
# rows they reach is the admin's scoping, to the restaurants where they are manager.
MANAGER_MODELS = {
    "reservations": ["restaurant", "area", "table", "tablecombination", "servicehours", "closure", "turntime",
                     "holdbackrule", "overbookingpolicy", "reservation", "refusal", "guest", "waitlistentry",
                     "gesture", "staffnote", "outboundmessage", "inboundmessage", "reservationtable", "tablerelease"],
    # The recovery app's pages: the manager reads cases and offers and closes cases there.
    "recovery": ["recoverycase", "caseaction", "recoveryoffer"],
}
