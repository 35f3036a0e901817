"""Customer mail: notices decided in the transaction of the ticket event that causes them
(`decide.record_notices`, called by bridge.tickets where events are written), expanded per
recipient into an outbox and delivered by a sender job (aiosmtplib); signed verification links;
mail read from IMAP turned into tickets and comments (`inbound`, `imap`)."""
