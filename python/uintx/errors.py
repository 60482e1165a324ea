"""The exceptions the Python package raises: one per uintx_status, all UintxError."""


class UintxError(RuntimeError):
    """A failed uintx call; the message is the library's (it names the value and the rule)."""

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


class InvalidArgumentError(UintxError, ValueError):
    """UINTX_ERROR_INVALID_ARGUMENT: a bad argument, or a call the library rejects."""


class NoDriverError(UintxError):
    """UINTX_ERROR_NO_DRIVER: no usable CUDA driver or device."""


class CudaError(UintxError):
    """UINTX_ERROR_CUDA: a CUDA driver call failed."""


class UintxIOError(UintxError, OSError):
    """UINTX_ERROR_IO: a file could not be read or written, or is not a uintx weight."""


class InternalError(UintxError):
    """UINTX_ERROR_INTERNAL or UINTX_ERROR_OUT_OF_MEMORY."""


# uintx_status values (include/uintx/uintx_c.h) to the exception raised for them.
BY_STATUS = {
    1: InvalidArgumentError,
    2: NoDriverError,
    3: CudaError,
    4: UintxIOError,
    5: InternalError,
    6: InternalError,
}
