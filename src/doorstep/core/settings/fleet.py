"""Settings of fleet operations: the executor, its leases, firmware files (decision 0038)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class FleetSettings(BaseModel):
    """How each controller process runs the queue of device operations, and firmware files."""

    fleet_executor: bool = Field(
        default=True,
        description="Run the executor of device operations in every controller process "
        "(doorstep controller, serve, demo).",
    )
    fleet_executor_concurrency: int = Field(
        default=16,
        ge=1,
        le=1024,
        description="Device operations one controller process runs at once; more wait.",
    )
    fleet_poll_seconds: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description="How often an idle executor looks for due operations; an insert wakes "
        "it at once (PostgreSQL NOTIFY) when fleet_listen is on.",
    )
    fleet_listen: bool = Field(
        default=True,
        description="Executors LISTEN for new operations instead of waiting for the next poll.",
    )
    fleet_lease_seconds: int = Field(
        default=120,
        ge=10,
        description="An executor's claim on a running operation, renewed while it runs; a "
        "process that dies lets it lapse, and the sweep then queues the operation again "
        "(nothing sent yet) or leaves it to the device's notifications and its deadline.",
    )
    fleet_check_seconds: float = Field(
        default=60.0,
        gt=0,
        description="How often a waiting operation asks its device how it stands (a lost "
        "TransferComplete! or Boot! still ends it); its device connecting asks at once.",
    )
    fleet_firmware_base_url: str | None = Field(
        default=None,
        description="The URL devices reach Doorstep at, for uploaded firmware images "
        "(<base>/firmware/<id>); default http://<host>:<port>.",
    )
    fleet_firmware_max_bytes: int = Field(
        default=512 * 1024 * 1024,
        ge=1,
        description="Largest firmware image Doorstep accepts as an upload.",
    )
