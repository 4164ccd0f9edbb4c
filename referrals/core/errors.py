"""One exception type for domain errors, with the messages people see.

Mapped to 400/409 in one place for the API and to form errors in the browser. Messages never
name a child.
"""

from __future__ import annotations


class ApplicationError(Exception):
    def __init__(self, message: str, *, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def ensure(condition: bool, message: str, *, code: str = "invalid") -> None:
    """Refuse with `message` unless `condition` holds (a service's check, before it writes)."""
    if not condition:
        raise ApplicationError(message, code=code)


REFERRAL_NOT_DRAFT = "This referral has already been submitted."
REFERRAL_NOT_AWAITING_ACKNOWLEDGEMENT = "This referral is not waiting to be acknowledged."
REFERRAL_ALREADY_CLAIMED = "Another social worker has already claimed this referral."
REFERRAL_NOT_OPEN = "This referral is not open for that action."
REFERRAL_NOT_AWAITING_INFORMATION = "No information has been requested on this referral."
REFERRAL_NOT_DECIDABLE = "This referral cannot be decided in its current state."
REFERRAL_NOT_CLOSABLE = "Only a decided referral can be closed."
REFERRAL_NOT_WITHDRAWABLE = (
    "A referral can only be withdrawn once it is sent and before it is acknowledged."
)
REFERRAL_NOT_SHAREABLE = "A withdrawn or transferred referral cannot be shared."
REFERRAL_NO_ROUTE = "No team in the receiving authority takes this referral. Call its front door."
REFERRAL_TRANSFER_SAME_AUTHORITY = "Choose a different local authority to transfer to."
SHARE_ALREADY_ACTIVE = "This referral is already shared with that agency."
SHARE_EXPIRY_IN_PAST = "The share must end in the future."
SHARE_NOT_ACTIVE = "This share has already ended."
REFERRAL_NOT_SHARED = "This referral is not shared with your agency."
CONCERN_ALREADY_REVIEWED = "This concern has already been reviewed."
PERMISSION_DENIED = "You do not have permission to do that."
REASON_REQUIRED = "Enter a reason."
ATTACHMENT_TOO_LARGE = "The selected file must be smaller than 10 MB."
ATTACHMENT_EMPTY = "The selected file is empty."
ATTACHMENT_TYPE_NOT_ALLOWED = (
    "The selected file must be a PDF, PNG, JPEG, Word document (.docx) or plain text file. "
    "Its content was checked, not its name."
)
ADDENDUM_REQUIRED = "Enter what you want to add to this concern."
ADDENDUM_NOT_ALLOWED = (
    "Only the person who raised a concern and their safeguarding leads can add to it."
)
DRAFT_TOO_LARGE = "This draft is too large to save. Submit it or shorten it."
# A save older than the stored draft (another window or tab saved since this page opened).
DRAFT_CHANGED_ELSEWHERE = (
    "These answers were changed in another window or tab, so this page's changes were not "
    "saved. Check the answers, then save or continue again."
)
# A save no newer than a draft already made into a record or deleted (an autosave still on its
# way when the form was posted, or a page opened before): nothing about the child is kept again.
DRAFT_CLOSED = "This form was already sent or deleted. Nothing was saved."
DRAFT_VERSION_INVALID = "This draft could not be saved. Reload the page and try again."
REFERRAL_NOT_CHECKED = "Check your answers before you send the referral."
REFERRAL_CHANGED_SINCE_CHECKED = (
    "Your answers changed after you checked them. Check them again before you send the referral."
)
# PostgreSQL cannot store a NUL byte in text or JSON; say so instead of failing.
NULL_CHARACTERS = "Null characters are not allowed. Remove them from your text and save again."
CHILD_ALREADY_RECORDED = (
    "A child with this NHS number is already recorded. Go back to the search and choose them."
)
NOTE_REQUIRED = "Enter the note."
REFERRAL_NOT_RECEIVED = "Only the receiving team can do that."
REFERRAL_REASSIGN_NOT_TEAM_MEMBER = "Choose someone in the team that received this referral."
REFERRAL_REASSIGN_SAME_OWNER = "This referral is already assigned to that person."
REFERRAL_NOT_REFERRER = "Only the referrer and their safeguarding leads can answer."

# The joined-up picture (issue 9).
MATCH_NOT_POSSIBLE = "Choose two different records of children in your authority."
MATCH_ALREADY_MERGED = (
    "One of these records is already merged with another. Undo that merge first, or merge "
    "into the record it was merged into."
)
MATCH_NOT_MERGED = "These records are not merged."
CONCERN_ALREADY_SHARED = "This concern has already been shared with the front door."
HOUSEHOLD_NOT_ALLOWED = "You cannot add people to this child's household."
