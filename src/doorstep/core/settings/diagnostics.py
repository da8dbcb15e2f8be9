"""Settings of the diagnostics subscribers and support run on devices (decision 0041)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class DiagnosticsSettings(BaseModel):
    """The operator's speed-test servers and how long a diagnostic may take."""

    diagnostics_download_url: str = Field(
        default="http://speedtest.example.net/100MB.bin",
        description="The operator's file a download speed test fetches (HTTP or FTP URL; "
        "TR-181 DownloadDiagnostics() DownloadURL). Not the subscriber's input.",
    )
    diagnostics_upload_url: str = Field(
        default="http://speedtest.example.net/upload",
        description="Where an upload speed test sends its bytes (TR-181 UploadDiagnostics() "
        "UploadURL), the operator's server.",
    )
    diagnostics_upload_bytes: int = Field(
        default=10_000_000,
        ge=1,
        le=2**32 - 1,
        description="How many bytes an upload speed test sends (TestFileLength).",
    )
    diagnostics_deadline_seconds: int = Field(
        default=600,
        ge=10,
        description="A diagnostic that has not ended this long after it was asked fails "
        "(device_timeout, or unreachable when the device was never reached).",
    )
    diagnostics_wait_seconds: int = Field(
        default=60,
        ge=1,
        le=300,
        description="The longest a caller waits for a result (the app's Prefer: wait, the "
        "privacy center's form); a result that is not stored reaches only a caller waiting.",
    )
