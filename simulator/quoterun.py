"""What one run of the quote workflow produced (:class:`QuoteRun`), apart from the traffic
that runs it: a pydantic model, which the compiled traffic module cannot define itself."""

from __future__ import annotations

from pydantic import BaseModel


class QuoteRun(BaseModel):
    """What one run of the quote workflow produced, as the demo runner reports it."""

    quote_nonce: str
    started_at: float
    quote_status: str | None = None
    quote_http_status: int | None = None
    quote_error_code: str | None = None
    total_price_eur: int | float | None = None
    inventory_nonce: str | None = None
    inventory_status: str | None = None
    available: bool | None = None
    preflight_nonce: str | None = None
    preflight_message_id: str | None = None
    preflight_bus_status: str | None = None
    preflight_directory_status: str | None = None
    preflight_http_status: int | None = None
    finance_received: bool = False
    acknowledgement: str | None = None
    terminal: bool | None = None
