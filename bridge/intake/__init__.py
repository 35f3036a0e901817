"""The one alert intake every source hands its normalized alerts to.

Where each decision lives (README, "Architecture"):

- routing an alert to a customer and device: `bridge.routing.Router` (pure);
- repeat or news, per alert: `plan.is_repeat`; what a firing/resolved/acknowledged alert does
  to its key and ticket: `plan.plan_alert` (pure, over `snapshot.Facts`), as an `actions.Action`;
- writing an action: `apply.apply`; the batched path's repeats and new tickets: `engine` and
  `new_tickets`;
- correlation (major incidents): `bridge.incidents.decide`, asked by `incidents.correlate` and
  by the batched opening of new tickets (`new_tickets`) alike; one device outage = one ticket:
  `plan_alert` on the outage facts `snapshot.gather` reads;
- the rows it writes: `rows` (hot row, wide row, held-back multi-row writes);
- routing a kept alert by hand: `kept.route_kept` (`AlertIntake.route_kept`);
- the service sources call, with metrics per source: `service.AlertIntake.take`.
"""

from bridge.intake.engine import IngestCommand, ingest, ingest_many
from bridge.intake.result import MONITORING, Context, IngestResult

__all__ = ["MONITORING", "Context", "IngestCommand", "IngestResult", "ingest", "ingest_many"]
