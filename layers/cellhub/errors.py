"""The one error tree of the project, with machine-readable codes.

    CellhubError                      code            meaning
    ├── InvalidInput                  invalid_input   the caller asked for something malformed
    │   ├── InvalidParameter          invalid_parameter   a parameter is out of range / unknown
    │   ├── UnknownModel              unknown_model   no model of that name is registered
    │   ├── InputNotFound             not_found       a path or object does not exist
    │   │   └── BlobNotFound          not_found       no object or multipart upload by that key
    │   ├── UploadTooLarge            upload_too_large  an upload body over its signed size limit
    │   └── WeakPassword              weak_password   a new password fails the password policy
    ├── AccessDenied                  access_denied   a signed URL or form does not allow this
    │   ├── SignatureInvalid          signature_invalid  missing, malformed or forged signature
    │   ├── UrlExpired                url_expired     a genuine signature past its expiry
    │   └── PolicyViolation           policy_violation  the request breaks its signed key or type
    ├── PermissionDenied              forbidden       a member whose role does not allow this
    ├── RateLimited                   rate_limited    too many attempts; see details.retry_after
    ├── AuthenticationError           authentication_failed  the caller's identity is unproven
    │   ├── InvalidCredentials        invalid_credentials  unknown email or wrong password, alike
    │   └── InvalidToken              invalid_token   forged, malformed, expired, used or revoked
    ├── NotFound                      not_found       no such record, or not one the caller may see
    │   ├── ProjectNotFound           not_found       no project by that id
    │   ├── MemberNotFound            not_found       the user is not a member of the project
    │   ├── ImageNotFound             not_found       no image by that id in that project
    │   ├── JobNotFound               not_found       no job by that id
    │   ├── ModelNotFound             not_found       no project model by that name
    │   └── ExportNotFound            not_found       no export by that id
    ├── Conflict                      conflict        the request clashes with the stored state
    │   ├── EmailTaken                email_taken     an account already has that email address
    │   ├── DuplicateRecord           already_exists  a record with that id or key exists
    │   ├── LastOwnerRequired         last_owner      the change would leave a project without owner
    │   ├── ModelNameTaken            model_name_taken  a global or project model has that name
    │   ├── ModelJobActive            model_job_active  the project already has a model job running
    │   └── SegmentationVersionConflict  version_conflict  saved from a stale version
    ├── ImageError                    (per subclass)  an image cannot be used; fails that image only
    │   ├── EmptyImage                empty           zero bytes, or no pixels
    │   ├── CorruptImage              corrupt         truncated or undecodable data
    │   ├── UnsupportedImageFormat    unsupported_format  not an image format we read
    │   ├── UnsupportedPixelType      unsupported_pixel_type  dtype / layout we cannot segment
    │   └── ImageTooLarge             too_large       pixel count over the decompression-bomb cap
    ├── ProcessingError               processing_failed   a stage failed on valid input (a bug)
    ├── ExportError                   export_failed   an exporter could not write its output
    └── QueueError                    queue_error     the job queue refused an operation
        └── StaleReceipt              stale_receipt   the receipt handle no longer holds the message

``permanent`` says whether retrying the same input can ever succeed: permanent errors go
straight to ``failed`` (or dead-letter) with their reason; the others may be retried.
"""

from __future__ import annotations

from typing import Any, ClassVar


class CellhubError(Exception):
    """Base of every error the project raises on purpose."""

    code: ClassVar[str] = "error"
    permanent: ClassVar[bool] = True

    def __init__(self, reason: str, **details: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.details = details

    def as_dict(self) -> dict[str, Any]:
        """Machine-readable form: ``{"code": ..., "reason": ..., **details}``."""
        return {"code": self.code, "reason": self.reason, **self.details}


class InvalidInput(CellhubError):
    code = "invalid_input"


class InvalidParameter(InvalidInput):
    code = "invalid_parameter"


class UnknownModel(InvalidInput):
    code = "unknown_model"


class InputNotFound(InvalidInput):
    code = "not_found"


class BlobNotFound(InputNotFound):
    code = "not_found"


class UploadTooLarge(InvalidInput):
    code = "upload_too_large"


class WeakPassword(InvalidInput):
    """A new password fails the policy in ``cellhub.services.passwords``."""

    code = "weak_password"


class AccessDenied(CellhubError):
    """A presigned URL or upload form does not allow the request; retrying it never helps."""

    code = "access_denied"


class SignatureInvalid(AccessDenied):
    code = "signature_invalid"


class UrlExpired(AccessDenied):
    code = "url_expired"


class PolicyViolation(AccessDenied):
    code = "policy_violation"


class PermissionDenied(CellhubError):
    code = "forbidden"


class RateLimited(CellhubError):
    code = "rate_limited"
    permanent = False


class AuthenticationError(CellhubError):
    """The caller's identity could not be established; the reason stays vague on purpose."""

    code = "authentication_failed"


class InvalidCredentials(AuthenticationError):
    # One error for an unknown email and a wrong password, so login cannot probe for accounts.
    code = "invalid_credentials"


class InvalidToken(AuthenticationError):
    code = "invalid_token"


class Conflict(CellhubError):
    code = "conflict"


class EmailTaken(Conflict):
    code = "email_taken"


class DuplicateRecord(Conflict):
    code = "already_exists"


class WriteContention(Conflict):
    """A conditional write kept losing to concurrent writes of the same record; retry it."""

    code = "write_contention"
    permanent = False


class ModelNameTaken(Conflict):
    """A new project model would share its name with a global or registered project model."""

    code = "model_name_taken"


class ModelJobActive(Conflict):
    """One fine-tuning or import job per project at a time: they share the GPU workers."""

    code = "model_job_active"


class LastOwnerRequired(Conflict):
    """Removing or demoting this member would leave the project without an owner."""

    code = "last_owner"


class SegmentationVersionConflict(Conflict):
    """The editor started from an older version than the stored latest one.

    ``details["current_version"]`` is the latest version, so the client can reload it.
    """

    code = "version_conflict"

    def __init__(self, reason: str, *, current_version: int, **details: Any) -> None:
        super().__init__(reason, current_version=current_version, **details)
        self.current_version = current_version


class NotFound(CellhubError):
    """No such record; also what a caller gets for a record it may not see (never a 403)."""

    code = "not_found"


class ProjectNotFound(NotFound):
    code = "not_found"


class MemberNotFound(NotFound):
    code = "not_found"


class ImageNotFound(NotFound):
    code = "not_found"


class JobNotFound(NotFound):
    code = "not_found"


class ModelNotFound(NotFound):
    code = "not_found"


class ExportNotFound(NotFound):
    code = "not_found"


class ImageError(CellhubError):
    code = "image_error"


class EmptyImage(ImageError):
    code = "empty"


class CorruptImage(ImageError):
    code = "corrupt"


class UnsupportedImageFormat(ImageError):
    code = "unsupported_format"


class UnsupportedPixelType(ImageError):
    code = "unsupported_pixel_type"


class ImageTooLarge(ImageError):
    code = "too_large"


class ProcessingError(CellhubError):
    code = "processing_failed"
    permanent = False


class ExportError(CellhubError):
    code = "export_failed"
    permanent = False


class QueueError(CellhubError):
    code = "queue_error"
    permanent = False


class StaleReceipt(QueueError):
    """The message was received again (or is no longer in flight) since this handle was issued.

    The holder has lost its claim: another consumer may be working on the message, so the
    holder must stop, not retry the call.
    """

    code = "stale_receipt"
    permanent = True
