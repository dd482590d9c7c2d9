"""Who may do what in the web app and the JSON API: every role set a view, a page or the search
principal checks lives here, named for what it grants.

Views guard themselves with `require_role(*permissions.SET)`; pages decide what to offer with
`user.role in permissions.SET`. A role outside a set (front-office staff, or a role the app
does not know) is refused: 403 from a view, nothing offered on a page. The only exclusion-style
set is `HOLDS_HIDDEN_FROM`, which names who is kept from something rather than who gets it.
"""

from __future__ import annotations

from foi_core.models import Role

# Cases hold requesters' personal data and drive statutory deadlines: the roles that work
# requests see and change them (and their statistics); front-office staff never do.
CASEWORK = (Role.FOI_OFFICER, Role.RECORDS_MANAGER, Role.ADMIN)
# The extra non-working days move every open case's statutory deadline at once.
CASE_CALENDAR = (Role.ADMIN,)
# Cases are assigned to the officers who answer requests (the assignee list, the API's check).
ASSIGNABLE_ROLE = Role.FOI_OFFICER

# Placing and widening holds is part of working a request (collecting records for a case puts
# them on its hold), so the casework roles see holds, place them and add to them.
HOLDS = (Role.FOI_OFFICER, Role.RECORDS_MANAGER, Role.ADMIN)
# Releasing a hold lets its files be destroyed again: a records-management decision.
HOLD_RELEASE = (Role.RECORDS_MANAGER,)
# Front-office staff learn only that a file is held: a hold's name or case reference can reveal
# that someone made a request (a subject access request names its subject), and they are
# offered no way to place a hold.
HOLDS_HIDDEN_FROM = (Role.FRONT_OFFICE,)

# Retention schedules, the eligibility report and disposal batches are records management's
# to read, with admins overseeing.
RETENTION = (Role.RECORDS_MANAGER, Role.ADMIN)
# Loading a schedule and building, excluding from, approving, cancelling or executing a
# disposal batch decide what is destroyed: records managers only.
DISPOSAL = (Role.RECORDS_MANAGER,)

# The audit log shows everyone's searches and decisions: admins run the system, records
# managers answer for its records.
AUDIT_LOG = (Role.ADMIN, Role.RECORDS_MANAGER)
# Accounts, groups, API tokens and crawls change who sees what and what is indexed.
ADMINISTRATION = (Role.ADMIN,)

# Search sees every document, whatever its share permissions, only for these roles: they work
# requests across the whole estate. Everyone else sees what their SIDs can read.
SEES_EVERYTHING = (Role.FOI_OFFICER, Role.RECORDS_MANAGER, Role.ADMIN)
