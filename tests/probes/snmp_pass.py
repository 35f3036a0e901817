"""snmpd ``pass`` script for the tests: serves OIDs from values.json beside the config.

Usage (by snmpd): snmp_pass.py VALUES_JSON -g OID | -n OID. The JSON maps numeric OIDs to
[type, value] with net-snmp pass types (integer, gauge, counter, timeticks, string).
"""

import json
import sys


def key(oid: str) -> tuple[int, ...]:
    return tuple(int(x) for x in oid.strip(".").split("."))


def main() -> None:
    path, mode, oid = sys.argv[1], sys.argv[2], key(sys.argv[3])
    if mode == "-s":
        print("not-writable")
        return
    with open(path, encoding="utf-8") as fh:
        values = {key(k): v for k, v in json.load(fh).items()}
    if mode == "-g":
        hit = oid if oid in values else None
    else:
        later = sorted(k for k in values if k > oid)
        hit = later[0] if later else None
    if hit is not None:
        kind, value = values[hit]
        print("." + ".".join(map(str, hit)))
        print(kind)
        print(value)


if __name__ == "__main__":
    main()
