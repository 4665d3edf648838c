"""Image members: the projects a ``shared`` image is offered to, and their answers.

Every operation takes the open ``Session`` of its transaction.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from emulator.context import RequestContext
from emulator.errors import Conflict, Forbidden, InvalidInput, NotFound
from emulator.image.limits import MEMBER_QUOTA, check_quota
from emulator.image.models import Image, ImageMember
from emulator.image.policy import authorize
from emulator.image.records import MEMBER_STATUSES, MemberRecord
from emulator.image.rows import children, now, target, visible_row


def _shared_row(s: Session, ctx: RequestContext, image_id: str, rule: str,
                member_id: str | None) -> Image:
    """The shared image ``ctx`` may apply member policy ``rule`` to, about ``member_id``."""
    row = visible_row(s, ctx, image_id)
    if row.visibility != "shared":
        raise Forbidden("Only shared images have members.")
    authorize(ctx, rule, target(s, ctx, row, member_id))
    return row


def _record(m: ImageMember) -> MemberRecord:
    return MemberRecord(m.image_id, m.member, m.status, m.created_at, m.updated_at)


def _member(s: Session, image_id: str, member_id: str) -> ImageMember:
    member = s.get(ImageMember, (image_id, member_id))
    if member is None:
        raise NotFound(f"{member_id} not found in the member list of the image {image_id}.")
    return member


def list_members(s: Session, ctx: RequestContext, image_id: str) -> list[MemberRecord]:
    """All members for the owner (and admins), else only the caller's own membership."""
    row = _shared_row(s, ctx, image_id, "get_members", ctx.project_id)
    stmt = select(ImageMember).where(ImageMember.image_id == image_id)
    if not ctx.is_admin and row.owner != ctx.project_id:
        stmt = stmt.where(ImageMember.member == ctx.project_id)
    return [_record(m) for m in s.exec(stmt.order_by(col(ImageMember.created_at))).all()]


def add(s: Session, ctx: RequestContext, image_id: str, member_id: str) -> MemberRecord:
    _shared_row(s, ctx, image_id, "add_member", member_id)
    if s.get(ImageMember, (image_id, member_id)) is not None:
        raise Conflict(f"Member {member_id} is duplicated for image {image_id}")
    check_quota("members", len(children(s, ImageMember, image_id)) + 1, MEMBER_QUOTA)
    created = now()
    member = ImageMember(image_id=image_id, member=member_id, created_at=created,
                         updated_at=created)
    s.add(member)
    return _record(member)


def get(s: Session, ctx: RequestContext, image_id: str, member_id: str) -> MemberRecord:
    _shared_row(s, ctx, image_id, "get_member", member_id)
    return _record(_member(s, image_id, member_id))


def update(s: Session, ctx: RequestContext, image_id: str, member_id: str,
           status: str) -> MemberRecord:
    _shared_row(s, ctx, image_id, "modify_member", member_id)
    member = _member(s, image_id, member_id)
    if status not in MEMBER_STATUSES:
        raise InvalidInput('Incorrect request: Status must be "pending", "accepted" or '
                           '"rejected".')
    member.status = status
    member.updated_at = now()
    s.add(member)
    return _record(member)


def remove(s: Session, ctx: RequestContext, image_id: str, member_id: str) -> None:
    _shared_row(s, ctx, image_id, "delete_member", member_id)
    s.delete(_member(s, image_id, member_id))
