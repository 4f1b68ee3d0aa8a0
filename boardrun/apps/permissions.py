"""Role permission bits, with Flow-Like's bit values (so exported roles stay portable),
and the three roles every app is created with.

Semantics differ from Flow-Like on purpose: the Owner or Admin bit implies every
permission EXCEPT the owner-only actions (deleting the app, changing its visibility,
granting or removing the Admin role), which need the Owner bit itself.
"""

from __future__ import annotations

from enum import IntFlag


class Permission(IntFlag):
    NONE = 0
    Owner = 1
    Admin = 2
    ReadTeam = 4
    ReadRoles = 8
    ReadFiles = 16
    WriteFiles = 32
    InvokeApi = 64
    WriteMeta = 128
    ReadBoards = 256
    ExecuteBoards = 512
    WriteBoards = 1024
    ListEvents = 2048
    ReadEvents = 4096
    ExecuteEvents = 8192
    WriteEvents = 16384
    ReadLogs = 32768
    ReadAnalytics = 65536
    ReadConfig = 131072
    WriteConfig = 262144
    ReadTemplates = 524288
    WriteTemplates = 1048576
    ReadCourses = 2097152
    WriteCourses = 4194304
    ReadWidgets = 8388608
    WriteWidgets = 16777216
    WriteRoutes = 33554432


ALL = Permission(0)
for _bit in Permission:
    ALL |= _bit
del _bit

# Actions only the Owner may take: the Admin bit does not imply this one.
OWNER_ONLY = Permission.Owner
# Every ordinary permission (all bits but Owner and Admin).
ORDINARY = ALL & ~(Permission.Owner | Permission.Admin)

OWNER_ROLE = "Owner"
ADMIN_ROLE = "Admin"
MEMBER_ROLE = "Member"

DEFAULT_ROLES: dict[str, Permission] = {
    OWNER_ROLE: Permission.Owner,
    ADMIN_ROLE: Permission.Admin,
    MEMBER_ROLE: (
        Permission.ReadBoards
        | Permission.ExecuteBoards
        | Permission.ListEvents
        | Permission.ReadEvents
        | Permission.ExecuteEvents
        | Permission.ReadLogs
        | Permission.ReadTemplates
        | Permission.ReadTeam
    ),
}


def effective(bits: int) -> Permission:
    """The permissions a role's stored bits grant: Owner grants everything, Admin
    everything except the Owner-only actions."""
    granted = Permission(int(bits) & int(ALL))
    if granted & Permission.Owner:
        return ALL
    if granted & Permission.Admin:
        return granted | ORDINARY
    return granted


def has(granted: Permission, needed: Permission) -> bool:
    """True when every bit of `needed` is in `granted` (as expanded by `effective`)."""
    return (granted & needed) == needed


def names(granted: Permission) -> list[str]:
    """The names of the single bits set, in bit order."""
    return [p.name for p in Permission if p.value and (granted & p) == p]
