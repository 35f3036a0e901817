"""SNMP notifications received in-process: pysnmp's asyncio NotificationReceiver on a UDP socket.

`receiver` is the thin I/O part (engine, socket, acknowledgement of informs, a verdict for
every datagram); what a notification means is `bridge.sources.snmptrap`, pure. `counters`
exposes the verdicts on /metrics.
"""
